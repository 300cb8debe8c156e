// The metadata stage: which files describing the root this base carries, and which the new layer gets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metadataTargets } from '../../../src/stages/metadata.js';

const files = (...paths: string[]) => paths.map((path) => ({ path }));

test('metadataTargets: live-boot and single casper update the files the base has; layered casper gets them beside the layer', () => {
  const debian = { flavor: 'debian-live', liveDir: '/live', files: files('/live/filesystem.packages', '/live/filesystem.size') };
  assert.deepEqual(metadataTargets(debian, '/live/remaster.squashfs', 'layer'), ['/live/filesystem.packages', '/live/filesystem.size']);
  const bare = { flavor: 'debian-live', liveDir: '/live', files: files('/live/filesystem.squashfs') };
  assert.deepEqual(metadataTargets(bare, '/live/remaster.squashfs', 'layer'), [], 'none are made up');
  const casper = { flavor: 'ubuntu-casper', liveDir: '/casper', files: files('/casper/filesystem.manifest', '/casper/filesystem.size') };
  assert.deepEqual(metadataTargets(casper, '/casper/remaster.squashfs', 'rebuild'), [
    '/casper/filesystem.manifest',
    '/casper/filesystem.size',
  ]);
  const layered = { ...casper, casper: { layered: true } };
  assert.deepEqual(metadataTargets(layered, '/casper/minimal.standard.live.remaster.squashfs', 'layer'), [
    '/casper/minimal.standard.live.remaster.manifest',
    '/casper/minimal.standard.live.remaster.size',
  ]);
});
