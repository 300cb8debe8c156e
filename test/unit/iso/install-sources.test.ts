// install-sources.yaml as subiquity reads it and curtin mounts it, and remaster's rewrite of it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { curtinChain, parseInstallSources, rewriteInstallSources, sourceLayerName, sourcePaths } from '../../../src/iso/install-sources.js';

const desktop = `- default: true
  id: ubuntu-desktop-minimal
  path: minimal.squashfs
  size: 10
  type: fsimage-layered
  variations:
    minimal:
      path: minimal.squashfs
      size: 10
    enhanced-secureboot:
      path: minimal.enhanced-secureboot.squashfs
      size: 11
      snapd_system_label: enhanced-secureboot-desktop
- id: ubuntu-desktop
  path: minimal.standard.squashfs
  size: 20
  type: fsimage-layered
`;

test('sources, their variations, and the paths an installation can copy (default source first)', () => {
  const doc = parseInstallSources(desktop);
  assert.ok(doc.ok);
  assert.deepEqual(
    doc.sources.map((s) => [s.id, s.default, s.variations.map((v) => v.name)]),
    [
      ['ubuntu-desktop-minimal', true, ['minimal', 'enhanced-secureboot']],
      ['ubuntu-desktop', false, ['default']],
    ],
  );
  assert.deepEqual(sourcePaths(doc.sources), ['minimal.squashfs', 'minimal.enhanced-secureboot.squashfs', 'minimal.standard.squashfs']);
});

test("curtin's chain: every dotted prefix, bottom first; remaster's layer extends it by one component", () => {
  assert.deepEqual(curtinChain('ubuntu-server-minimal.ubuntu-server.squashfs'), [
    '/casper/ubuntu-server-minimal.squashfs',
    '/casper/ubuntu-server-minimal.ubuntu-server.squashfs',
  ]);
  assert.equal(sourceLayerName('ubuntu-server-minimal.squashfs'), 'ubuntu-server-minimal.remaster.squashfs');
  assert.deepEqual(curtinChain(sourceLayerName('a.b.squashfs')), [
    '/casper/a.squashfs',
    '/casper/a.b.squashfs',
    '/casper/a.b.remaster.squashfs',
  ]);
});

test('unreadable files say what they are', () => {
  const v2 = parseInstallSources('version: 2\nsources: []\n');
  assert.equal(v2.ok, false);
  assert.match(v2.ok ? '' : v2.why, /a mapping \(version: 2\)/);
  assert.match((parseInstallSources('') as { why: string }).why, /empty/);
  assert.match((parseInstallSources('- id: x\n') as { why: string }).why, /entry 1 has no path/);
  assert.match((parseInstallSources('[') as { why: string }).why, /not YAML/);
});

test('the rewrite points every path and variation at the layer, updates sizes, makes fsimage layered, keeps the rest', () => {
  const layers = new Map([
    ['minimal.squashfs', { name: 'minimal.remaster.squashfs', size: 100 }],
    ['minimal.enhanced-secureboot.squashfs', { name: 'minimal.enhanced-secureboot.remaster.squashfs', size: 110 }],
    ['minimal.standard.squashfs', { name: 'minimal.standard.remaster.squashfs', size: 200 }],
  ]);
  const out = parse(rewriteInstallSources(desktop.replace('size: 20\n  type: fsimage-layered', 'size: 20\n  type: fsimage'), layers));
  assert.deepEqual(out[0].variations, {
    minimal: { path: 'minimal.remaster.squashfs', size: 100 },
    'enhanced-secureboot': {
      path: 'minimal.enhanced-secureboot.remaster.squashfs',
      size: 110,
      snapd_system_label: 'enhanced-secureboot-desktop',
    },
  });
  assert.deepEqual([out[0].path, out[0].size, out[0].default], ['minimal.remaster.squashfs', 100, true]);
  assert.deepEqual(
    [out[1].path, out[1].size, out[1].type, out[1].id],
    ['minimal.standard.remaster.squashfs', 200, 'fsimage-layered', 'ubuntu-desktop'],
  );
  assert.throws(() => rewriteInstallSources(desktop, new Map()), /no remaster layer for install source minimal\.squashfs/);
});
