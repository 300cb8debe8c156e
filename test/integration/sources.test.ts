// Image sources through skopeo, against a real registry on loopback, OCI archives and OCI layouts.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { scanRootfsTar, writeRootfsImage } from '../../src/images/docker-archive.js';
import { addImage, type PayloadOptions } from '../../src/images/payload.js';
import { type Registry, skopeo, startRegistry } from '../helpers/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-src-'));
const archive = join(dir, 'busybox-docker.tar');
let imageId = '';
let open: Registry;
let locked: Registry;
const SECRET = 'Sup3r-s3cret-pw';

const opts = (extra: Partial<PayloadOptions> = {}): PayloadOptions => ({
  dir: join(dir, 'payload'),
  compression: { kind: 'zstd' },
  architecture: 'amd64',
  sourceDateEpoch: 0,
  ...extra,
});

before(async () => {
  execFileSync('mkdir', ['-p', join(dir, 'payload')]);
  const rootfs = join(dir, 'rootfs.tar');
  await writeBusyboxRootfs(rootfs);
  imageId = (
    await writeRootfsImage(
      { rootfsTar: rootfs, ref: 'demo/busybox:1.0', architecture: 'amd64', created: 0 },
      await scanRootfsTar(rootfs),
      createWriteStream(archive),
    )
  ).imageId;
  open = await startRegistry(join(dir, 'reg-open'));
  locked = await startRegistry(join(dir, 'reg-auth'), { user: 'alice', password: SECRET });
  skopeo(['--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${open.host}/demo/busybox:1.0`]);
  skopeo([
    '--dest-tls-verify=false',
    '--dest-creds',
    `alice:${SECRET}`,
    `docker-archive:${archive}`,
    `docker://${locked.host}/team/busybox:2`,
  ]);
});

after(() => {
  open?.stop();
  locked?.stop();
});

test('registry without auth: pulled, named by its reference, same image ID, registry digest recorded', async () => {
  const progress: string[] = [];
  const img = await addImage(
    { kind: 'skopeo', transport: 'docker', source: `docker://${open.host}/demo/busybox:1.0`, tlsVerify: false },
    opts({ onProgress: (l) => progress.push(l) }),
  );
  // Progress: the blob skopeo copies, the bytes it wrote, then zstd's percentage up to 100.
  assert.match(progress.join('\n'), /^skopeo: copying blob 1 \(sha256:[0-9a-f]{12}\)$/m);
  assert.match(progress.join('\n'), /^skopeo: done, [\d.]+ MiB written$/m);
  assert.equal(
    progress
      .filter((l) => l.startsWith('zstd: '))
      .at(-1)
      ?.replace(/ \(.*/, ''),
    'zstd: 100 %',
  );
  assert.deepEqual(img.refs, [`${open.host}/demo/busybox:1.0`]);
  assert.equal(img.imageId, imageId);
  assert.match(img.source.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(img.source.kind, 'docker');
});

test('registry with auth: credentials from user/password work, and are written nowhere we keep', async () => {
  const img = await addImage(
    { kind: 'skopeo', transport: 'docker', source: `docker://${locked.host}/team/busybox:2`, ref: 'team/busybox:2', tlsVerify: false },
    opts({ auth: { username: 'alice', password: SECRET } }),
  );
  assert.equal(img.imageId, imageId);
  assert.deepEqual(img.refs, ['team/busybox:2']);
  const grep = (where: string) => {
    try {
      return execFileSync('grep', ['-rl', SECRET, where], { encoding: 'utf8' });
    } catch {
      return '';
    }
  };
  assert.equal(grep(join(dir, 'payload')), '');
  assert.deepEqual(
    readdirSync(tmpdir()).filter((f) => f.startsWith('remaster-auth-')),
    [],
  );
});

test('registry with auth: wrong password and no credentials are one clear line each', async () => {
  const src = { kind: 'skopeo' as const, transport: 'docker' as const, source: `docker://${locked.host}/team/busybox:2`, tlsVerify: false };
  await assert.rejects(
    addImage(src, opts({ auth: { username: 'alice', password: 'wrong' } })),
    (e: unknown) => e instanceof UsageError && /refused the credentials/.test(e.message) && !e.message.includes('wrong'),
  );
  await assert.rejects(addImage(src, opts()), (e: unknown) => e instanceof UsageError && /refused the credentials/.test(e.message));
});

test('a reference that does not exist and an unreachable registry', async () => {
  await assert.rejects(
    addImage({ kind: 'skopeo', transport: 'docker', source: `docker://${open.host}/demo/absent:1`, tlsVerify: false }, opts()),
    (e: unknown) => e instanceof UsageError && /does not exist/.test(e.message),
  );
  await assert.rejects(
    addImage({ kind: 'skopeo', transport: 'docker', source: 'docker://127.0.0.1:9/demo/x:1', tlsVerify: false }, opts()),
    (e: unknown) => e instanceof UsageError && /unreachable: .*connection refused/.test(e.message),
  );
});

/** The config digest an OCI source declares: the ID an engine shows once it is loaded. */
function ociConfigDigest(source: string): string {
  const raw = JSON.parse(execFileSync('skopeo', ['--insecure-policy', 'inspect', '--raw', source], { encoding: 'utf8' })) as {
    config: { digest: string };
  };
  return raw.config.digest;
}

test('oci-archive and OCI layout sources: the recorded ID is the OCI config digest', async () => {
  const ociArchive = join(dir, 'busybox-oci.tar');
  skopeo([`docker-archive:${archive}`, `oci-archive:${ociArchive}`]);
  const a = await addImage({ kind: 'skopeo', transport: 'oci-archive', source: `oci-archive:${ociArchive}`, ref: 'acme/oci-a:1' }, opts());
  assert.equal(a.imageId, ociConfigDigest(`oci-archive:${ociArchive}`));
  assert.deepEqual(a.refs, ['acme/oci-a:1']);
  const layout = join(dir, 'layout');
  skopeo([`docker-archive:${archive}`, `oci:${layout}:v1`]);
  const b = await addImage({ kind: 'skopeo', transport: 'oci', source: `oci:${layout}:v1`, ref: 'acme/oci-b:1' }, opts());
  assert.equal(b.imageId, ociConfigDigest(`oci:${layout}:v1`));
  await assert.rejects(
    addImage({ kind: 'skopeo', transport: 'oci', source: `oci:${layout}:v1` }, opts()),
    (e: unknown) => e instanceof UsageError && /needs a name/.test(e.message),
  );
});

test('docker-daemon source through a docker-compatible API socket (podman system service), named by DOCKER_HOST', async () => {
  const sock = join(dir, 'podman-api.sock');
  // podman refuses a runroot path longer than 50 characters: a short one under /run, whatever TMPDIR is.
  const runroot = mkdtempSync('/run/remaster-podman-');
  after(() => rmSync(runroot, { recursive: true, force: true }));
  const store = ['--root', join(dir, 'daemon-store'), '--runroot', runroot, '--storage-driver', 'vfs'];
  execFileSync('podman', [...store, 'load', '-i', archive]);
  const service = spawn('podman', [...store, 'system', 'service', '--time=0', `unix://${sock}`], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
    const before = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${sock}`;
    try {
      const img = await addImage(
        { kind: 'skopeo', transport: 'docker-daemon', source: 'docker-daemon:localhost/demo/busybox:1.0', ref: 'demo/busybox:1.0' },
        opts(),
      );
      assert.equal(img.imageId, imageId);
      assert.equal(img.source.kind, 'docker-daemon');
      assert.match(img.source.digest, /^sha256:[0-9a-f]{64}$/);
    } finally {
      if (before === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = before;
    }
  } finally {
    service.kill('SIGKILL');
  }
});
