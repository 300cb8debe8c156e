// The storage setup script, run by bash with fake findmnt/findfs/mount/mountpoint on PATH that record what
// would be mounted: the store device when it is there, a tmpfs otherwise, nothing on an installed root.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loaderFiles } from '../../../src/units/render.js';
import type { Engine } from '../../../src/types.js';

interface World {
  rootFs: string;
  /** What findfs answers for the configured tag; absent: not found. */
  device?: string;
  /** Filesystem type the device mounts as. */
  deviceFs?: string;
  mountFails?: boolean;
}

function runSetup(engine: Engine, storeDevice: string | undefined, world: World) {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-storage-'));
  const log = join(dir, 'calls');
  const mounted = join(dir, 'mounted');
  writeFileSync(log, '');
  writeFileSync(mounted, '');
  const fake = (name: string, body: string) =>
    writeFileSync(join(dir, name), `#!/bin/bash\necho "${name} $*" >>"${log}"\n${body}\n`, { mode: 0o755 });
  fake('findmnt', `if [ "$4" = / ]; then echo ${world.rootFs}; else echo ${world.deviceFs ?? 'ext4'}; fi`);
  fake('findfs', world.device ? `echo ${world.device}` : 'exit 1');
  fake('mountpoint', `grep -qxF -- "\${@: -1}" "${mounted}"`);
  fake('umount', `exit 0`);
  fake('mkdir', `exit 0`);
  fake('sleep', `exit 0`);
  fake('mount', world.mountFails ? `echo "wrong fs type" >&2; exit 32` : `echo "\${@: -1}" >>"${mounted}"`);
  const files = loaderFiles({ engine, compression: 'zstd', deleteAfterLoad: false, tmpfsSize: '50%', storeDevice, reportPort: 'p' });
  const script = files.find((f) => f.path.endsWith('storage-setup'))?.content;
  assert.ok(script);
  writeFileSync(join(dir, 'storage-setup'), script);
  chmodSync(join(dir, 'storage-setup'), 0o755);
  const r = spawnSync('bash', [join(dir, 'storage-setup')], {
    env: { PATH: `${dir}:/usr/bin:/bin`, REMASTER_STORE_WAIT: '2' },
    encoding: 'utf8',
  });
  const calls = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('mount ') || l.startsWith('umount '));
  return { r, calls, dir };
}

test('installed root: nothing is mounted', () => {
  const { r, calls } = runSetup('docker', 'LABEL=remaster-store', { rootFs: 'ext4', device: '/dev/vdb' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /root is ext4: engine storage needs nothing/);
  assert.deepEqual(calls, []);
});

test('live root without a store device: a tmpfs per store directory', () => {
  const { r, calls } = runSetup('docker', undefined, { rootFs: 'overlay' });
  assert.equal(r.status, 0);
  assert.deepEqual(calls, [
    'mount -t tmpfs -o mode=0711,size=50% remaster-store /var/lib/docker',
    'mount -t tmpfs -o mode=0711,size=50% remaster-store /var/lib/containerd',
  ]);
});

test('live root with the store device present: the device, then bind mounts of the stores and the loader state', () => {
  const { r, calls } = runSetup('podman', 'LABEL=remaster-store', { rootFs: 'overlay', device: '/dev/vdb' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(calls, [
    'mount -o noatime /dev/vdb /var/lib/remaster/persist',
    'mount --bind /var/lib/remaster/persist/var/lib/containers/storage /var/lib/containers/storage',
    'mount --bind /var/lib/remaster/persist/var/lib/remaster/state /var/lib/remaster/state',
  ]);
  assert.match(r.stdout, /engine store and loader state on LABEL=remaster-store \(\/dev\/vdb, ext4\), kept across boots/);
});

test('store device absent: a warning, then a tmpfs', () => {
  const { r, calls } = runSetup('podman', 'LABEL=remaster-store', { rootFs: 'overlay' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^<4>store device LABEL=remaster-store not found within 2 s: the engine store is a tmpfs/m);
  assert.deepEqual(calls, ['mount -t tmpfs -o mode=0711,size=50% remaster-store /var/lib/containers/storage']);
});

test('store device that cannot hold a store (vfat) or cannot be mounted: an error line, then a tmpfs', () => {
  const vfat = runSetup('podman', 'UUID=1234-ABCD', { rootFs: 'overlay', device: '/dev/sdb1', deviceFs: 'vfat' });
  assert.match(vfat.r.stdout, /^<3>store device UUID=1234-ABCD \(\/dev\/sdb1\) holds vfat, which the engine cannot keep its store on/m);
  assert.deepEqual(vfat.calls.slice(1), [
    'umount /var/lib/remaster/persist',
    'mount -t tmpfs -o mode=0711,size=50% remaster-store /var/lib/containers/storage',
  ]);
  const broken = runSetup('podman', 'LABEL=blank', { rootFs: 'overlay', device: '/dev/vdb', mountFails: true });
  assert.match(
    broken.r.stdout,
    /^<3>store device LABEL=blank \(\/dev\/vdb\) could not be mounted: wrong fs type; falling back to a tmpfs/m,
  );
  assert.deepEqual(broken.calls, [
    'mount -o noatime /dev/vdb /var/lib/remaster/persist',
    'mount -t tmpfs -o mode=0711,size=50% remaster-store /var/lib/containers/storage',
  ]);
});
