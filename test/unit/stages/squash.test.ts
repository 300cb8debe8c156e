// The squash stage: the new layer's name and squashfs level.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { casperLayerIsoPath, layerIsoPath } from '../../../src/stages/squash.js';

test('the new layer sorts after every base layer (live-boot stacks in sorted order)', () => {
  assert.equal(layerIsoPath('/live', ['/live/filesystem.squashfs']), '/live/remaster.squashfs');
  assert.equal(layerIsoPath('/live', ['/live/filesystem.squashfs', '/live/zz-extra.squashfs']), '/live/zzremaster.squashfs');
});

test('squashfs level: 3 for a layer of zstd or gzip, the default for a rebuild, a wanted level capped per algorithm', async () => {
  const { squashLevel } = await import('../../../src/stages/squash.js');
  assert.equal(squashLevel('zstd', 'layer', undefined), 3);
  assert.equal(squashLevel('zstd', 'rebuild', undefined), undefined);
  assert.equal(squashLevel('zstd', 'rebuild', 19), 19);
  assert.equal(squashLevel('gzip', 'layer', 15), 9);
  assert.equal(squashLevel('xz', 'layer', undefined), undefined);
  assert.equal(squashLevel('lz4', 'layer', 5), undefined);
});

test('casperLayerIsoPath: the layer is named into the dotted chain of its top', () => {
  assert.equal(casperLayerIsoPath('/casper/minimal.standard.live.squashfs'), '/casper/minimal.standard.live.remaster.squashfs');
  assert.equal(casperLayerIsoPath('/casper/minimal.squashfs'), '/casper/minimal.remaster.squashfs');
});
