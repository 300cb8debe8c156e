// The rootfs stage: which mode a base gets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseMode } from '../../../src/stages/rootfs.js';

test('chooseMode: layer (every accepted base stacks squashfs files), rebuild on request', () => {
  const ctx = (rootfsMode: 'auto' | 'layer' | 'rebuild') => ({ config: { rootfsMode } as never });
  assert.equal(chooseMode(ctx('auto')), 'layer');
  assert.equal(chooseMode(ctx('layer')), 'layer');
  assert.equal(chooseMode(ctx('rebuild')), 'rebuild');
});
