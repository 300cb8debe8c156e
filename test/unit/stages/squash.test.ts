// What the squash stage compresses with: the inspect stage's choice for a layer, the base's own for a rebuilt root.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { squashCompression } from '../../../src/stages/squash.js';

const chosen = { compression: 'zstd' as const, level: 3, reason: 'kernel 6.1.0-18-amd64 can mount zstd squashfs' };

test('squash compression: a layer takes the choice from the kernel configs', () => {
  assert.deepEqual(squashCompression('layer', 'xz', chosen, undefined), chosen);
});

test("squash compression: a rebuilt root keeps the base's compressor and mksquashfs' default level unless asked", () => {
  assert.deepEqual(squashCompression('rebuild', 'xz', chosen, undefined), {
    compression: 'xz',
    level: undefined,
    reason: "rebuild mode: the rebuilt root keeps the base's xz",
  });
  assert.equal(squashCompression('rebuild', 'zstd', chosen, 19).level, 19);
  assert.equal(squashCompression('rebuild', 'zstd', chosen, undefined).level, undefined);
});
