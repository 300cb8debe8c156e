// The root layer's mount options: a squashfs read straight out of the ISO, an overlay whose upper stands alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { overlayOptions, squashfsInIsoOptions } from '../../../src/rootfs/layer.js';

test('a squashfs inside an ISO is mounted by offset and size, no iso9660 needed', () => {
  assert.deepEqual(squashfsInIsoOptions({ offset: 1407 * 2048, bytes: 190615552 }), [
    'loop',
    'ro',
    'offset=2881536',
    'sizelimit=190615552',
  ]);
});

test('overlay options keep the upper self-contained (no redirects, no metacopy)', () => {
  assert.deepEqual(overlayOptions(['/top', '/bottom'], '/u', '/w'), [
    'lowerdir=/top:/bottom',
    'upperdir=/u',
    'workdir=/w',
    'redirect_dir=off',
    'index=off',
    'metacopy=off',
    'xino=off',
  ]);
});
