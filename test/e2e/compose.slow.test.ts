// docker-compose.yml for real: the builder image is built from a base made here (scripts/compose-base.sh:
// debootstrap + docker import, no registry needed), `remaster demo` runs inside the builder service and its
// verified ISO lands in the bound output folder; the registry service serves an image the builder can read.
// The Docker daemon is started here when none answers (and stopped again afterwards), with no bridge, NAT or
// iptables rules: the compose services use the host's network, so the machine's networking is left alone.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import type { BuildReport } from '../../src/build.js';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { scanRootfsTar, writeRootfsImage } from '../../src/images/docker-archive.js';
import { Workspace } from '../../src/pipeline/workspace.js';
import { fixtureIso, mountsBelow } from '../helpers/fixture.js';
import { REPO } from '../helpers/paths.js';
import { skopeo } from '../helpers/registry.js';

const PROJECT = 'remaster-e2e';
const dir = mkdtempSync(join(tmpdir(), 'remaster-compose-'));
const outDir = join(dir, 'out');

const onPath = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** Why this machine cannot run Docker at all (the only reason to skip), or undefined. */
function noDocker(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to run dockerd and privileged containers';
  if (!onPath('dockerd') || !onPath('docker')) return 'dockerd is not installed (apt-get install docker.io, or scripts/setup.sh)';
  if (!onPath('docker-compose') && spawnSync('docker', ['compose', 'version']).status !== 0)
    return 'neither `docker compose` nor docker-compose is installed (apt-get install docker-compose, or scripts/setup.sh)';
  return undefined;
}
const skip = noDocker();
if (skip) process.stderr.write(`compose e2e skipped: ${skip}\n`);

const compose: string[] = spawnSync('docker', ['compose', 'version']).status === 0 ? ['docker', 'compose'] : ['docker-compose'];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30 * 60 * 1000): Run {
  const [file, ...args] = cmd;
  const r = spawnSync(file ?? '', args, {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}` };
}

/** Rebuilds leave the previous image untagged; drop those (only images of these Dockerfiles carry the label). */
const pruneOld = (name: string) =>
  run(['docker', 'image', 'prune', '--force', '--filter', `label=org.remaster.image=${name}`], {}, 120_000);

let baseTag: string | undefined;

/**
 * The base image of both services, made here by scripts/compose-base.sh (its tag is keyed by its recipe, so a
 * changed script or Node makes a new one). Never pulled: the image must exist locally before any compose build.
 */
function baseImage(): string {
  if (baseTag) return baseTag;
  const t0 = performance.now();
  const base = run([join(REPO, 'scripts/compose-base.sh')], {}, 20 * 60 * 1000);
  assert.equal(base.status, 0, `compose-base.sh failed:\n${base.stderr.slice(-3000)}`);
  const tag = base.stdout.trim().split('\n').pop() ?? '';
  assert.match(tag, /^remaster-base:bookworm-[0-9a-f]{12}$/, `compose-base.sh printed no tag: ${base.stdout}`);
  if (run(['docker', 'image', 'inspect', tag], {}, 60_000).status !== 0) {
    assert.fail(`base image ${tag} is not on this machine: build it with scripts/compose-base.sh (the tests never pull from Docker Hub)`);
  }
  process.stderr.write(`compose: base image ${tag} ready in ${seconds(t0)} s\n`);
  baseTag = tag;
  return tag;
}

function composeRun(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs?: number): Run {
  return run([...compose, '-p', PROJECT, ...args], { REMASTER_BASE_IMAGE: baseImage(), REMASTER_OUT: outDir, ...env }, timeoutMs);
}

const dockerAnswers = () => run(['docker', 'info'], {}, 30_000).status === 0;
const seconds = (t0: number) => ((performance.now() - t0) / 1000).toFixed(0);

let dockerd: ChildProcess | undefined;
const dockerdLog = join(dir, 'dockerd.log');

/** npm run test:cold: start as a new machine would, with none of the project's images or volumes. */
function removeProjectImages(): void {
  const tags = run(['docker', 'image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'], {}, 60_000)
    .stdout.split('\n')
    .filter((t) => /^remaster-(base|builder|registry):/.test(t));
  if (tags.length > 0) run(['docker', 'image', 'rm', '--force', ...tags], {}, 300_000);
  for (const name of ['builder', 'registry']) pruneOld(name);
  run(['docker', 'volume', 'rm', '--force', `${PROJECT}_remaster-cache`, `${PROJECT}_registry-data`], {}, 60_000);
  process.stderr.write(`compose: cold run: removed ${tags.join(', ') || 'no images'} and the project's volumes\n`);
}

before(async () => {
  if (skip) return;
  await startDockerd();
  if (process.env.REMASTER_TEST_COLD === '1') removeProjectImages();
});

async function startDockerd(): Promise<void> {
  if (dockerAnswers()) return;
  // No docker0 bridge, no iptables/NAT rules: nothing changes in the host's network. The bounded runtime
  // lets privileged containers start where this process's capability bounding set is partial.
  const log = openSync(dockerdLog, 'a');
  dockerd = spawn(
    'dockerd',
    [
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
      '--ip-masq=false',
      '--add-runtime',
      `bounded=${join(REPO, 'scripts/runc-bounded')}`,
      '--default-runtime',
      'bounded',
    ],
    { stdio: ['ignore', log, log], detached: true },
  );
  for (let i = 0; i < 60 && dockerd.exitCode === null; i++) {
    await sleep(1000);
    if (dockerAnswers()) return;
  }
  const tail = readFileSync(dockerdLog, 'utf8').split('\n').slice(-15).join('\n');
  assert.fail(`dockerd did not come up within 60 s (exit ${dockerd.exitCode}); its log:\n${tail}`);
}

after(async () => {
  if (!skip && baseTag) composeRun(['rm', '--stop', '--force', 'registry'], {}, 120_000);
  if (dockerd && dockerd.exitCode === null) {
    const exited = new Promise((r) => dockerd?.once('exit', r));
    dockerd.kill('SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
  }
  rmSync(dir, { recursive: true, force: true });
});

test(
  'compose builder: build the image, run `remaster demo` in it, get a verified ISO in ./out',
  { skip: skip ?? false, timeout: 60 * 60 * 1000 },
  async () => {
    baseImage();
    let t0 = performance.now();
    const build = composeRun(['build', 'builder']);
    assert.equal(build.status, 0, `docker compose build builder failed:\n${(build.stdout + build.stderr).slice(-5000)}`);
    process.stderr.write(`compose: builder image built in ${seconds(t0)} s\n`);
    pruneOld('builder');

    // The host's fixture base ISO (the demo's own base, same recipe key) is bound in read-only, so the demo
    // does not build it a second time inside the cache volume.
    const iso = await fixtureIso();
    t0 = performance.now();
    // The demo through the image's entrypoint; then, in the same container, any mount it left behind.
    const script =
      'remaster-entrypoint "$@"; rc=$?; findmnt -rn -o SOURCE,TARGET | grep -E "^/dev/loop|/root/.cache/remaster/work|[[:space:]]/out/" > /out/mounts-after; exit $rc';
    const demo = composeRun([
      'run',
      '--rm',
      '-v',
      `${iso}:/root/.cache/remaster/base-iso/${basename(iso)}:ro`,
      '--entrypoint',
      '/bin/sh',
      'builder',
      '-c',
      script,
      'sh',
      'demo',
      '--json',
      '--out',
      '/out/demo.iso',
    ]);
    process.stderr.write(`compose: remaster demo in the builder took ${seconds(t0)} s\n`);
    assert.equal(demo.status, 0, `remaster demo in the builder failed:\n${demo.stderr.slice(-5000)}`);
    const report = JSON.parse(demo.stdout) as BuildReport;
    assert.equal(report.ok, true);
    assert.match(demo.stderr, /remaster demo: base \/root\/\.cache\/remaster\/base-iso\/debian-live-\w+\.iso \(from cache\)/);
    assert.equal(report.output?.path, '/out/demo.iso');
    assert.ok(report.verify.length > 0, 'the demo boots its ISO');
    for (const v of report.verify) {
      assert.equal(v.ok, true, `${v.firmware}/${v.media}: ${v.diagnosis}`);
      assert.ok(
        v.images.some((i) => i.ref.endsWith('demo/busybox:1.0')),
        `the guest lists ${JSON.stringify(v.images)}`,
      );
    }

    // The ISO is on the host, exactly the bytes the report names, with its SHA256SUMS line.
    const out = join(outDir, 'demo.iso');
    assert.ok(existsSync(out), `${out} is missing`);
    assert.equal(statSync(out).size, report.output?.bytes);
    const sha = createHash('sha256');
    for await (const chunk of createReadStream(out)) sha.update(chunk as Buffer);
    assert.equal(sha.digest('hex'), report.output?.sha256);
    assert.match(readFileSync(join(outDir, 'SHA256SUMS'), 'utf8'), new RegExp(`^${report.output?.sha256}  demo\\.iso$`, 'm'));

    // Nothing left mounted: in the container after the demo, and on the host below the output folder.
    assert.equal(readFileSync(join(outDir, 'mounts-after'), 'utf8'), '', 'mounts left in the builder after the demo');
    assert.deepEqual(mountsBelow(outDir), []);
    const ws = Workspace.forOutput('/root/.cache/remaster', '/out/demo.iso').root;
    const loops = run(['losetup', '-l', '-n', '-O', 'NAME,BACK-FILE']).stdout.split('\n');
    assert.deepEqual(
      loops.filter((l) => l.includes(ws) || l.includes(' /out/')),
      [],
      'loop devices of the demo still attached',
    );
    process.stderr.write(
      `compose: demo ISO ${((report.output?.bytes ?? 0) / 1048576).toFixed(1)} MiB, build ${report.seconds} s, verify ${report.verify.map((v) => `${v.firmware}/${v.accel}`).join(', ')}\n`,
    );
  },
);

test(
  'compose registry: the registry service serves an image the builder can read',
  { skip: skip ?? false, timeout: 20 * 60 * 1000 },
  async () => {
    baseImage();
    const build = composeRun(['build', 'registry']);
    assert.equal(build.status, 0, `docker compose build registry failed:\n${(build.stdout + build.stderr).slice(-5000)}`);
    pruneOld('registry');
    const port = await freePort();
    const env = { REMASTER_REGISTRY_PORT: String(port) };
    const up = composeRun(['up', '-d', 'registry'], env, 120_000);
    assert.equal(up.status, 0, up.stderr.slice(-3000));
    const host = `127.0.0.1:${port}`;
    let answered = false;
    for (let i = 0; i < 60 && !answered; i++) {
      answered = await fetch(`http://${host}/v2/`)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (!answered) await sleep(500);
    }
    assert.ok(answered, `the registry service does not answer on ${host}:\n${composeRun(['logs', 'registry'], env).stdout.slice(-2000)}`);

    const rootfs = join(dir, 'busybox.tar');
    const archive = join(dir, 'busybox-image.tar');
    await writeBusyboxRootfs(rootfs, { mtime: 0 });
    await writeRootfsImage(
      { rootfsTar: rootfs, ref: 'demo/busybox:1.0', architecture: 'amd64', created: 0 },
      await scanRootfsTar(rootfs),
      createWriteStream(archive),
    );
    skopeo(['--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${host}/demo/busybox:1.0`]);

    // What `remaster build --image docker://127.0.0.1:PORT/...` does first: skopeo in the builder reads it.
    const seen = composeRun(
      ['run', '--rm', '--entrypoint', 'skopeo', 'builder', 'inspect', '--tls-verify=false', `docker://${host}/demo/busybox:1.0`],
      env,
      300_000,
    );
    assert.equal(seen.status, 0, seen.stderr.slice(-3000));
    const info = JSON.parse(seen.stdout) as { Architecture: string; Layers: string[] };
    assert.equal(info.Architecture, 'amd64');
    assert.equal(info.Layers.length, 1);
  },
);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}
