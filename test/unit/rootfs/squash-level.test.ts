// The squashfs level a layer or a rebuilt root is written with.
import assert from 'node:assert/strict';
import { test } from 'node:test';

test('squashfs level: 3 for a layer of zstd or gzip, the default for a rebuild, a wanted level capped per algorithm', async () => {
  const { squashLevel } = await import('../../../src/rootfs/squashfs.js');
  assert.equal(squashLevel('zstd', 'layer', undefined), 3);
  assert.equal(squashLevel('zstd', 'rebuild', undefined), undefined);
  assert.equal(squashLevel('zstd', 'rebuild', 19), 19);
  assert.equal(squashLevel('gzip', 'layer', 15), 9);
  assert.equal(squashLevel('xz', 'layer', undefined), undefined);
  assert.equal(squashLevel('lz4', 'layer', 5), undefined);
});
