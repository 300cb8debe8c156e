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
  writeFileSync(hook, render(readTemplate('d-i-live-installer.sh'), { LAYER: '/live/remaster.squashfs' }, 'd-i-live-installer.sh'));
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
