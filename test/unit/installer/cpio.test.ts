// The initrd segment: a newc archive cpio(1) and the kernel read, the same bytes for the same input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { initrdSegment, newcArchive } from '../../../src/installer/cpio.js';

const entries = [
  { path: 'usr/lib/live-installer.d/remaster', mode: 0o755, content: '#!/bin/sh\necho hi\n' },
  { path: 'preseed.cfg', mode: 0o644, content: 'd-i debian-installer/locale string en_US\n' },
];

test('cpio(1) lists and extracts the archive: folders made, modes kept, contents intact', () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-cpio-'));
  const archive = join(dir, 'a.cpio');
  writeFileSync(archive, newcArchive(entries, 1_700_000_000));
  const list = spawnSync('cpio', ['-it', '--quiet', '-F', archive], { encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual(list.stdout.trim().split('\n'), [
    'usr',
    'usr/lib',
    'usr/lib/live-installer.d',
    'preseed.cfg',
    'usr/lib/live-installer.d/remaster',
  ]);
  const out = join(dir, 'x');
  const x = spawnSync('sh', ['-c', `mkdir ${out} && cd ${out} && cpio -idm --quiet -F ${archive}`], { encoding: 'utf8' });
  assert.equal(x.status, 0, x.stderr);
  assert.equal(readFileSync(join(out, 'usr/lib/live-installer.d/remaster'), 'utf8'), '#!/bin/sh\necho hi\n');
  assert.equal(statSync(join(out, 'usr/lib/live-installer.d/remaster')).mode & 0o7777, 0o755);
  assert.equal(statSync(join(out, 'preseed.cfg')).mtimeMs, 1_700_000_000_000);
  assert.equal(newcArchive(entries, 1).length % 512, 0, 'padded to whole blocks');
});

test('the gzip segment is deterministic and decompresses to the archive', () => {
  const a = initrdSegment(entries, 42);
  assert.deepEqual(a, initrdSegment([...entries].reverse(), 42), 'order of the entries given does not matter');
  assert.deepEqual(gunzipSync(a), newcArchive(entries, 42));
  assert.notDeepEqual(initrdSegment(entries, 43), a);
});
