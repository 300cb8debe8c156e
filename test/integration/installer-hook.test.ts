// The live-installer hook (templates/d-i-live-installer.sh) with only the commands Debian 13's d-i has on PATH, as
// the build's replay runs it: a real squashfs layer, whiteouts applied, the copy logged. A hook that calls a command
// d-i lacks (du, stat) fails here, not on site.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { commandFolder, missingCommands } from '../../src/installer/replay.js';
import { readTemplate, render } from '../../src/units/render.js';
import { tool } from '../helpers/iso-surgery.js';
import { diCommands } from '../helpers/paths.js';

test('the live-installer hook runs with d-i commands only: layer copied, deletions applied, copy logged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-hook-'));
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'usr/lib/remaster'), { recursive: true });
  writeFileSync(join(tree, 'usr/lib/remaster/load-images'), '#!/bin/sh\n');
  const cdrom = join(dir, 'cdrom');
  mkdirSync(join(cdrom, 'live'), { recursive: true });
  tool('mksquashfs', [tree, join(cdrom, 'live/remaster.squashfs'), '-noappend', '-no-progress', '-quiet']);
  const target = join(dir, 'target');
  mkdirSync(join(target, 'etc'), { recursive: true });
  writeFileSync(join(target, 'etc/issue.net'), 'base\n');
  writeFileSync(join(dir, 'changes'), 'w etc/issue.net\n');
  const hook = join(dir, 'hook');
  const noStore = { STORE: '', STORE_COPY: 'file', STORE_DEST: '/var/lib/remaster/installed-store' };
  writeFileSync(
    hook,
    render(readTemplate('d-i-live-installer.sh'), { LAYER: '/live/remaster.squashfs', ...noStore }, 'd-i-live-installer.sh'),
  );
  const path = await commandFolder(join(dir, 'bin'), diCommands());
  assert.ok(!existsSync(join(path, 'du')), 'd-i has no du');
  const r = spawnSync('/bin/sh', [hook], {
    encoding: 'utf8',
    env: { PATH: path, REMASTER_TARGET: target, REMASTER_CDROM: cdrom, REMASTER_CHANGES: join(dir, 'changes') },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(missingCommands(r.stderr), [], 'every command the hook calls is one d-i has');
  assert.ok(existsSync(join(target, 'usr/lib/remaster/load-images')));
  assert.ok(!existsSync(join(target, 'etc/issue.net')), 'the whiteout is applied');
  assert.match(
    r.stdout,
    /^remaster: copied \d+ entries \(\d+ KiB compressed\) of \S+\/live\/remaster\.squashfs into \S+ \(1 deletion\(s\) first\)$/m,
  );
  assert.match(readFileSync(join(target, 'var/log/remaster-install.log'), 'utf8'), /copied \d+ entries/);
  assert.equal(spawnSync('findmnt', ['-rn', '-o', 'TARGET']).stdout.toString().includes(dir), false, 'nothing left mounted');
});

test('with a ready store the hook copies it to the disk after the layer: unpacked (docker) or as one file (podman)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-hook-store-'));
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'usr/lib/remaster'), { recursive: true });
  writeFileSync(join(tree, 'usr/lib/remaster/load-images'), '#!/bin/sh\n');
  const cdrom = join(dir, 'cdrom');
  mkdirSync(join(cdrom, 'live'), { recursive: true });
  mkdirSync(join(cdrom, 'remaster'), { recursive: true });
  tool('mksquashfs', [tree, join(cdrom, 'live/remaster.squashfs'), '-noappend', '-no-progress', '-quiet']);
  // docker's store squashfs: the ext4 image and its sha256 (any bytes do for a copy).
  const store = join(dir, 'store');
  mkdirSync(store);
  writeFileSync(join(store, 'docker.ext4'), Buffer.alloc(3 * 1048576, 7));
  writeFileSync(join(store, 'docker.ext4.sha256'), 'abc\n');
  tool('mksquashfs', [store, join(cdrom, 'remaster/store.squashfs'), '-noappend', '-no-progress', '-quiet']);
  writeFileSync(join(dir, 'changes'), '');
  const path = await commandFolder(join(dir, 'bin'), diCommands());
  for (const copy of ['unpack', 'file'] as const) {
    const target = join(dir, `target-${copy}`);
    mkdirSync(target, { recursive: true });
    const hook = join(dir, `hook-${copy}`);
    writeFileSync(
      hook,
      render(
        readTemplate('d-i-live-installer.sh'),
        {
          LAYER: '/live/remaster.squashfs',
          STORE: '/remaster/store.squashfs',
          STORE_COPY: copy,
          STORE_DEST: '/var/lib/remaster/installed-store',
        },
        'd-i-live-installer.sh',
      ),
    );
    const r = spawnSync('/bin/sh', [hook], {
      encoding: 'utf8',
      env: { PATH: path, REMASTER_TARGET: target, REMASTER_CDROM: cdrom, REMASTER_CHANGES: join(dir, 'changes') },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(missingCommands(r.stderr), [], 'every command the hook calls is one d-i has');
    const dest = join(target, 'var/lib/remaster/installed-store');
    if (copy === 'unpack') {
      assert.equal(readFileSync(join(dest, 'docker.ext4')).length, 3 * 1048576);
      assert.equal(readFileSync(join(dest, 'docker.ext4.sha256'), 'utf8'), 'abc\n');
    } else {
      assert.deepEqual(readFileSync(join(dest, 'store.squashfs')), readFileSync(join(cdrom, 'remaster/store.squashfs')));
    }
    assert.match(
      r.stdout,
      /^remaster: copied the ready image store \(\d+ KiB\) from \S+\/remaster\/store\.squashfs into \S+\/var\/lib\/remaster\/installed-store$/m,
    );
  }
  // A store the medium lacks: the install stops with the reason (d-i shows the hook failed).
  const hook = join(dir, 'hook-missing');
  writeFileSync(
    hook,
    render(
      readTemplate('d-i-live-installer.sh'),
      {
        LAYER: '/live/remaster.squashfs',
        STORE: '/remaster/none.squashfs',
        STORE_COPY: 'file',
        STORE_DEST: '/var/lib/remaster/installed-store',
      },
      'd-i-live-installer.sh',
    ),
  );
  mkdirSync(join(dir, 'target-missing'));
  const r = spawnSync('/bin/sh', [hook], {
    encoding: 'utf8',
    env: { PATH: path, REMASTER_TARGET: join(dir, 'target-missing'), REMASTER_CDROM: cdrom, REMASTER_CHANGES: join(dir, 'changes') },
  });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^remaster: ERROR: \S+\/remaster\/none\.squashfs is not on the medium: the installed system gets no images$/m);
  assert.equal(spawnSync('findmnt', ['-rn', '-o', 'TARGET']).stdout.toString().includes(dir), false, 'nothing left mounted');
});
