import assert from 'node:assert/strict';
import { test } from 'node:test';
import { algoOf, updateChecksumText } from '../../../src/iso/checksums.js';

test('updateChecksumText replaces changed entries in place and appends new ones in the file style', () => {
  const before = 'aaa  ./live/filesystem.squashfs\nbbb  ./live/vmlinuz\n';
  const after = updateChecksumText(
    before,
    new Map([
      ['/live/vmlinuz', 'ccc'],
      ['/live/remaster.squashfs', 'ddd'],
    ]),
  );
  assert.equal(after, 'aaa  ./live/filesystem.squashfs\nccc  ./live/vmlinuz\nddd  ./live/remaster.squashfs\n');
});

test('updateChecksumText keeps a style without ./', () => {
  assert.equal(updateChecksumText('aaa  live/x\n', new Map([['/live/y', 'b']])), 'aaa  live/x\nb  live/y\n');
});

test('algoOf', () => {
  assert.equal(algoOf('/md5sum.txt'), 'md5');
  assert.equal(algoOf('/SHA256SUMS'), 'sha256');
});
