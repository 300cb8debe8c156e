// What a copy of the layer must delete first: whiteouts, opaque folders and folders turned into files, but only where
// the base has something to hide. Needs root (device nodes, trusted.* xattrs).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { changesText, isAdditive, layerChanges, parseOpaque } from '../../../src/installer/layer-changes.js';

const skip = process.getuid?.() !== 0 ? 'device nodes and trusted.* xattrs need root' : undefined;

test('parseOpaque reads getfattr --dump output under the root only', () => {
  const text = [
    '# file: /w/upper/etc/docker',
    'trusted.overlay.opaque="y"',
    '',
    '# file: /w/upper/usr/share/doc/x',
    'trusted.overlay.opaque="y"',
    '',
    '# file: /other/y',
    'trusted.overlay.opaque="y"',
  ].join('\n');
  assert.deepEqual([...parseOpaque(text, '/w/upper')], ['etc/docker', 'usr/share/doc/x']);
});

test('a layer against its base: only deletions of what the base has count', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-changes-'));
  const base = join(dir, 'base');
  const layer = join(dir, 'layer');
  for (const d of ['etc/old', 'etc/keep', 'usr/share/doc/a', 'var/lib/thing']) mkdirSync(join(base, d), { recursive: true });
  writeFileSync(join(base, 'etc/gone.conf'), 'x');
  writeFileSync(join(base, 'etc/old/a'), 'x');
  for (const d of ['etc/old', 'etc/new', 'usr/share/doc', 'var/lib']) mkdirSync(join(layer, d), { recursive: true });
  const mk = (...a: string[]) => assert.equal(spawnSync(a[0] ?? '', a.slice(1)).status, 0, a.join(' '));
  mk('mknod', join(layer, 'etc/gone.conf'), 'c', '0', '0'); // whiteout of a base file
  mk('mknod', join(layer, 'etc/never-was'), 'c', '0', '0'); // whiteout of nothing
  mk('setfattr', '-n', 'trusted.overlay.opaque', '-v', 'y', join(layer, 'etc/old')); // replaces a base folder
  mk('setfattr', '-n', 'trusted.overlay.opaque', '-v', 'y', join(layer, 'etc/new')); // new folder: nothing to hide
  symlinkSync('/elsewhere', join(layer, 'var/lib/thing')); // a base folder turned into a link
  writeFileSync(join(layer, 'usr/share/doc/b'), 'added');
  const c = await layerChanges(layer, base);
  assert.deepEqual(c, { whiteouts: ['etc/gone.conf'], opaque: ['etc/old'], replacedDirs: ['var/lib/thing'] });
  assert.equal(isAdditive(c), false);
  assert.equal(changesText(c), 'w etc/gone.conf\no etc/old\nr var/lib/thing\n');
  assert.equal(isAdditive({ whiteouts: [], opaque: [], replacedDirs: [] }), true);
});
