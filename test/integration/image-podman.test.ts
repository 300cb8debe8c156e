// A docker-archive remaster writes from a rootfs tarball loads into a real podman with the ID we recorded.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { addImage } from '../../src/images/payload.js';

test('podman load accepts the zstd-compressed docker-archive and shows the recorded ID and tag', { timeout: 5 * 60 * 1000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-podman-'));
  const rootfs = join(dir, 'rootfs.tar');
  await writeBusyboxRootfs(rootfs);
  const img = await addImage(
    { kind: 'rootfs', path: rootfs, ref: 'test/busybox:2', cmd: ['/bin/sh'] },
    { dir, compression: { kind: 'zstd' }, architecture: 'amd64', sourceDateEpoch: 0 },
  );
  // podman refuses a runroot path longer than 50 characters: a short one under /run, whatever TMPDIR is.
  const runroot = mkdtempSync('/run/remaster-podman-');
  after(() => rmSync(runroot, { recursive: true, force: true }));
  const store = ['--root', join(dir, 'store'), '--runroot', runroot, '--storage-driver', 'vfs'];
  const load = spawnSync('bash', ['-o', 'pipefail', '-c', `zstd -dc "$1" | podman ${store.join(' ')} load`, 'x', join(dir, img.file)], {
    encoding: 'utf8',
  });
  assert.equal(load.status, 0, load.stderr);
  const inspect = spawnSync('podman', [...store, 'image', 'inspect', '--format', '{{.Id}} {{join .RepoTags ","}}', 'test/busybox:2'], {
    encoding: 'utf8',
  });
  assert.equal(inspect.status, 0, inspect.stderr);
  assert.equal(inspect.stdout.trim(), `${img.imageId.slice('sha256:'.length)} localhost/test/busybox:2`);
});
