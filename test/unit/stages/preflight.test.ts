// Preflight: the xorriso version gate and the tools a build needs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requiredTools } from '../../../src/exec/tools.js';
import { xorrisoVersionOk } from '../../../src/stages/preflight.js';

test('preflight: xorriso version gate and tool list', () => {
  assert.equal(xorrisoVersionOk('xorriso 1.5.4 : RockRidge filesystem manipulator'), true);
  assert.equal(xorrisoVersionOk('xorriso 1.5.2 : RockRidge'), false);
  assert.equal(xorrisoVersionOk('xorriso 1.6.0'), true);
  assert.ok(requiredTools({ verify: ['bios'], compression: 'zstd' }).includes('qemu-system-x86_64'));
  assert.ok(!requiredTools({ verify: [], compression: 'none' }).includes('zstd'));
});
