// Where the output ISO is written, kept aside, and recorded in SHA256SUMS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { partialPath, unverifiedPath, updateSha256Sums } from '../../../src/iso/output.js';

test('partial and unverified outputs sit beside --out, never at it', () => {
  assert.equal(partialPath('/out/app.iso'), '/out/.app.iso.remaster-partial');
  assert.equal(unverifiedPath('/out/app.iso'), '/out/app.iso.unverified');
});

test('SHA256SUMS beside the ISO: one line per ISO, replaced on rebuild, sorted by name', () => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  const c = 'c'.repeat(64);
  const first = updateSha256Sums('', 'site1.iso', a);
  assert.equal(first, `${a}  site1.iso\n`);
  const second = updateSha256Sums(first, 'site0.iso', b);
  assert.equal(second, `${b}  site0.iso\n${a}  site1.iso\n`);
  assert.equal(updateSha256Sums(second, 'site1.iso', c), `${b}  site0.iso\n${c}  site1.iso\n`);
});
