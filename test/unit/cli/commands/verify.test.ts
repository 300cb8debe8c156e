// remaster verify's default evidence folder: one per ISO, so verifications of different ISOs never share run folders.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultEvidenceDir } from '../../../../src/cli/commands/verify.js';

test('the default evidence folder is per ISO: its name and a hash of its full path, under <cache>/verify', () => {
  const a = defaultEvidenceDir('/c', '/srv/out/site-a.iso');
  assert.match(a, /^\/c\/verify\/site-a-[0-9a-f]{8}$/);
  assert.notEqual(defaultEvidenceDir('/c', '/srv/other/site-a.iso'), a, 'same name, another folder: another place');
  assert.equal(defaultEvidenceDir('/c', '/srv/out/site-a.iso'), a, 'the same ISO: the same place');
});
