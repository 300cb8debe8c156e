import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { toBuildConfig } from '../../../src/config/load.js';
import { UsageError } from '../../../src/errors.js';
import { containersStorageRef, readyStoreName } from '../../../src/stages/ready-store.js';
import { engineConfigFiles, readyStoreFiles } from '../../../src/units/render.js';

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
  const unit = readyStoreFiles()[0]?.content ?? '';
  assert.match(
    unit,
    /^ExecStart=\/usr\/bin\/mount -t squashfs -o ro,loop \/run\/live\/medium\/remaster\/store.squashfs \/var\/lib\/remaster\/ready-store$/m,
  );
  assert.match(unit, /^Before=podman.service .*remaster-loader.service$/m);
});

test('a ready store is podman only: docker always loads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-rs-'));
  const app = join(dir, 'a.tar');
  writeFileSync(app, 'x');
  assert.throws(
    () => toBuildConfig({ iso: '/a.iso', out: '/b.iso', engine: 'docker', images: [app], podmanStore: 'ready' }, {}),
    (e: unknown) => e instanceof UsageError && /needs --engine podman/.test(e.message) && /bound to one storage driver/.test(e.hint ?? ''),
  );
  assert.equal(
    toBuildConfig({ iso: '/a.iso', out: '/b.iso', engine: 'podman', images: [app], podmanStore: 'ready' }, {}).podmanStore,
    'ready',
  );
});
