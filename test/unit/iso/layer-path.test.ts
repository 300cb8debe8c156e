// Where the new layer goes on the medium, named into the base stack.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { casperLayerIsoPath, layerIsoPath } from '../../../src/iso/layer-path.js';

test('the new layer sorts after every base layer (live-boot stacks in sorted order)', () => {
  assert.equal(layerIsoPath('/live', ['/live/filesystem.squashfs']), '/live/remaster.squashfs');
  assert.equal(layerIsoPath('/live', ['/live/filesystem.squashfs', '/live/zz-extra.squashfs']), '/live/zzremaster.squashfs');
});

test('casperLayerIsoPath: the layer is named into the dotted chain of its top', () => {
  assert.equal(casperLayerIsoPath('/casper/minimal.standard.live.squashfs'), '/casper/minimal.standard.live.remaster.squashfs');
  assert.equal(casperLayerIsoPath('/casper/minimal.squashfs'), '/casper/minimal.remaster.squashfs');
});
