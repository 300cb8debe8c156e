// The store disks verify can make: tags it can put on an ext4 image.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { storeDiskTag } from '../../../src/verify/store-disk.js';

test('store device tags verify can make a disk for: LABEL= and UUID= only', () => {
  assert.deepEqual(storeDiskTag('LABEL=remaster-store'), { label: 'remaster-store' });
  assert.deepEqual(storeDiskTag('UUID=0f9e6c1e-3b8a-4d2c-9a51-7e3f2b1c4d5e'), { uuid: '0f9e6c1e-3b8a-4d2c-9a51-7e3f2b1c4d5e' });
  assert.equal(storeDiskTag('PARTLABEL=store'), undefined);
  assert.equal(storeDiskTag('/dev/sdb1'), undefined);
});
