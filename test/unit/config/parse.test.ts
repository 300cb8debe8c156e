// Value parsers: each names the key's path and what it expected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMedia, parseVerify } from '../../../src/config/parse.js';
import type { RemasterError } from '../../../src/errors.js';

test('parseVerify: none, all, lists', () => {
  assert.deepEqual(parseVerify('v', 'none'), []);
  assert.deepEqual(parseVerify('v', 'all'), ['bios', 'uefi']);
  assert.deepEqual(parseVerify('v', 'uefi,bios'), ['uefi', 'bios']);
});

test('parseMedia: cdrom, usb, all, lists; rejects the rest naming the key', () => {
  assert.deepEqual(parseMedia('verifyMedia', 'cdrom'), ['cdrom']);
  assert.deepEqual(parseMedia('verifyMedia', 'usb'), ['usb']);
  assert.deepEqual(parseMedia('verifyMedia', 'all'), ['cdrom', 'usb']);
  assert.deepEqual(parseMedia('verifyMedia', 'usb, cdrom,usb'), ['usb', 'cdrom']);
  assert.deepEqual(parseMedia('verifyMedia', ['usb', 'all']), ['usb', 'cdrom']);
  assert.throws(
    () => parseMedia('--media', 'floppy'),
    (e: RemasterError) => /^--media: expected "cdrom" or "usb" or "all"/.test(e.message),
  );
  assert.throws(() => parseMedia('verifyMedia', ['cdrom', 3]), /verifyMedia\[1\]/);
  assert.throws(() => parseMedia('verifyMedia', []), /verifyMedia/);
});
