import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { toBuildConfig } from '../../../src/config/load.js';
import { UsageError } from '../../../src/errors.js';
import { checkDockerStore, containersStorageRef, dockerFillBytes, readyStoreName, uuidOf } from '../../../src/stages/ready-store.js';
import type { PayloadManifest } from '../../../src/images/manifest.js';
import { RemasterError } from '../../../src/errors.js';
import { readConfigFile } from '../../../src/config/load.js';
import { engineConfigFiles, loaderFiles, readyStoreFiles, readyStoreImage } from '../../../src/units/render.js';

test('ready store names match what podman calls a loaded image (localhost/ for short names)', () => {
  assert.equal(readyStoreName('demo/web:1.0'), 'localhost/demo/web:1.0');
  assert.equal(readyStoreName('busybox'), 'localhost/busybox:latest');
  assert.equal(readyStoreName('registry.local:5000/team/app:2'), 'registry.local:5000/team/app:2');
  assert.equal(containersStorageRef('/w/s', '/w/r', 'localhost/a:1'), 'containers-storage:[overlay@/w/s+/w/r]localhost/a:1');
});

test('podman storage.conf lists the ready store as an additional image store; the mount unit is enabled', () => {
  const conf = engineConfigFiles('podman', undefined, true)[0]?.content ?? '';
  assert.match(conf, /^driver = "overlay"$/m);
  assert.match(conf, /^\[storage.options\]\nadditionalimagestores = \["\/var\/lib\/remaster\/ready-store"\]$/m);
  assert.throws(() => engineConfigFiles('podman', '[storage]\n', true), UsageError);
  const files = readyStoreFiles('podman', '75%');
  const unit = files[0]?.content ?? '';
  assert.match(unit, /^ExecStart=\/usr\/lib\/remaster\/ready-store-setup$/m);
  assert.match(unit, /^ExecStop=\/usr\/bin\/umount \/var\/lib\/remaster\/ready-store$/m);
  // The medium's store in a live session, the installer's copy on an installed disk: either one starts the unit.
  assert.match(unit, /^ConditionPathExists=\|\/run\/live\/medium\/remaster\/store.squashfs$/m);
  assert.match(unit, /^ConditionPathExists=\|\/var\/lib\/remaster\/installed-store\/store.squashfs$/m);
  const script = files.find((f) => f.path === 'usr/lib/remaster/ready-store-setup')?.content ?? '';
  assert.match(script, /^image=\/run\/live\/medium\/remaster\/store.squashfs$/m);
  assert.match(
    script,
    /^\[ ! -f \/var\/lib\/remaster\/installed-store\/store.squashfs \] \|\| image=\/var\/lib\/remaster\/installed-store\/store.squashfs$/m,
  );
  assert.match(script, /^exec mount -t squashfs -o ro,loop "\$image" \/var\/lib\/remaster\/ready-store$/m);
  assert.match(unit, /^Before=podman.service .*remaster-loader.service shutdown.target$/m);
});

test('docker ready store: a setup script mounts the snapshot as /var/lib/docker before docker; the storage setup leaves it alone', () => {
  const files = readyStoreFiles('docker', '50%');
  const unit = files.find((f) => f.path.endsWith('remaster-ready-store.service'))?.content ?? '';
  assert.match(unit, /^ExecStart=\/usr\/lib\/remaster\/ready-store-setup$/m);
  assert.match(unit, /^ExecStop=\/usr\/lib\/remaster\/ready-store-setup stop$/m);
  assert.match(unit, /^After=local-fs.target remaster-storage.service$/m);
  assert.match(unit, /^Before=docker.service remaster-loader.service shutdown.target$/m);
  const script = files.find((f) => f.path === 'usr/lib/remaster/ready-store-setup');
  assert.equal(script?.mode, 0o755);
  assert.match(script?.content ?? '', /^IMAGE=\$STORE\/docker.ext4$/m);
  assert.match(script?.content ?? '', /size=50%/);
  // On an installed disk: the installer's copy of the ext4 image, read-write, before any snapshot is thought of.
  assert.match(script?.content ?? '', /^INSTALLED=\/var\/lib\/remaster\/installed-store\/docker.ext4$/m);
  assert.match(script?.content ?? '', /mount -o loop,noatime,discard "\$INSTALLED" "\$DATA"/);
  assert.match(unit, /^ConditionPathExists=\|\/var\/lib\/remaster\/installed-store\/docker.ext4$/m);
  assert.match(script?.content ?? '', /dmsetup create "\$NAME" --table "0 \$\(\(sectors \+ grow\)\) snapshot /);
  const settings = { engine: 'docker', compression: 'zstd', deleteAfterLoad: false, tmpfsSize: '50%', reportPort: 'p' } as const;
  const setup = (ready: boolean) =>
    loaderFiles({ ...settings, readyStore: ready }).find((f) => f.path === 'usr/lib/remaster/storage-setup')?.content ?? '';
  assert.match(setup(false), /for dir in \/var\/lib\/docker \/var\/lib\/containerd;/);
  assert.match(setup(true), /for dir in \/var\/lib\/containerd;/);
});

test('docker ready store: every reference must have its manifest ID in the filled store', () => {
  const manifest = {
    version: 1,
    compression: 'zstd',
    apps: [],
    images: [{ refs: ['demo/web:1.0', 'web:latest'], file: 'a.tar.zst', bytes: 1, uncompressedBytes: 100 * 1048576, imageId: 'sha256:aa' }],
  } as unknown as PayloadManifest;
  checkDockerStore(
    manifest,
    new Map([
      ['demo/web:1.0', 'sha256:aa'],
      ['web:latest', 'sha256:aa'],
    ]),
  );
  assert.throws(
    () =>
      checkDockerStore(
        manifest,
        new Map([
          ['demo/web:1.0', 'sha256:aa'],
          ['web:latest', 'none'],
        ]),
      ),
    (e: unknown) => e instanceof RemasterError && /web:latest is not in the store/.test(e.message),
  );
  assert.throws(
    () =>
      checkDockerStore(
        manifest,
        new Map([
          ['demo/web:1.0', 'sha256:bb'],
          ['web:latest', 'sha256:aa'],
        ]),
      ),
    (e: unknown) => e instanceof RemasterError && /demo\/web:1.0 has ID sha256:bb/.test(e.message),
  );
  assert.equal(dockerFillBytes(manifest), 712 * 1048576);
  assert.match(uuidOf('x'), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(uuidOf('x'), uuidOf('x'));
});

test('a ready store works for both engines; podmanStore is the earlier name of imageStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-rs-'));
  const app = join(dir, 'a.tar');
  writeFileSync(app, 'x');
  for (const engine of ['docker', 'podman'] as const) {
    assert.equal(toBuildConfig({ iso: '/a.iso', out: '/b.iso', engine, images: [app], imageStore: 'ready' }, {}).imageStore, 'ready');
  }
  const file = join(dir, 'r.yml');
  writeFileSync(file, 'podmanStore: ready\n');
  assert.deepEqual(readConfigFile(file), { imageStore: 'ready' });
  writeFileSync(file, 'podmanStore: ready\nimageStore: load\n');
  assert.throws(
    () => readConfigFile(file),
    (e: unknown) => e instanceof UsageError && /both "podmanStore" and "imageStore"/.test(e.message),
  );
});

test("the store is read where the live system mounts its medium: live-boot's /run/live/medium, casper's /cdrom", () => {
  for (const engine of ['docker', 'podman'] as const) {
    const text = readyStoreFiles(engine, '75%', readyStoreImage(true))
      .map((f) => f.content ?? '')
      .join('\n');
    assert.match(text, /^ConditionPathExists=\|\/cdrom\/remaster\/store.squashfs$/m);
    assert.doesNotMatch(text, /run\/live\/medium/);
  }
  assert.equal(readyStoreImage(false), '/run/live/medium/remaster/store.squashfs');
});
