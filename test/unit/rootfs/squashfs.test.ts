import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mksquashfsArgs, parseSuperblock, parseUnsquashfsStat, unsquashfsArgs } from '../../../src/rootfs/squashfs.js';
import { captured } from '../../helpers/paths.js';

test('parseSuperblock reads a real zstd superblock', () => {
  const sb = parseSuperblock(Buffer.from(captured('synthetic', 'superblock-zstd.hex').trim(), 'hex'));
  assert.ok(sb);
  assert.equal(sb.compression, 'zstd');
  assert.equal(sb.blockSize, 131072);
  assert.equal(sb.bytesUsed, 275);
  assert.equal(sb.inodes, 3);
});

test('parseSuperblock agrees with unsquashfs -s on the same image', () => {
  const sb = parseSuperblock(Buffer.from(captured('synthetic', 'superblock-zstd.hex').trim(), 'hex'));
  const stat = parseUnsquashfsStat(captured('synthetic', 'unsquashfs-s.txt'));
  assert.equal(stat.compression, sb?.compression);
  assert.equal(stat.blockSize, sb?.blockSize);
  assert.equal(stat.bytes, sb?.bytesUsed);
});

test('parseSuperblock refuses other data', () => {
  assert.equal(parseSuperblock(Buffer.alloc(96)), undefined);
  assert.equal(parseSuperblock(Buffer.from('hsqs')), undefined);
});

test('mksquashfsArgs: base compression and block size, reproducible times', () => {
  assert.deepEqual(mksquashfsArgs({ source: 'up', target: 'l.sqfs', compression: 'xz', blockSize: 1048576, sourceDateEpoch: 5 }), [
    'up',
    'l.sqfs',
    '-noappend',
    '-comp',
    'xz',
    '-b',
    '1048576',
    '-mkfs-time',
    '5',
    '-all-time',
    '5',
    '-no-progress',
  ]);
  assert.deepEqual(mksquashfsArgs({ source: 'a', target: 'b', compression: 'zstd', level: 19 }), [
    'a',
    'b',
    '-noappend',
    '-comp',
    'zstd',
    '-Xcompression-level',
    '19',
    '-no-progress',
  ]);
});

test('unsquashfsArgs reads a squashfs at an offset inside an ISO', () => {
  assert.deepEqual(unsquashfsArgs({ image: 'x.iso', dest: 'tree', offset: 2048 * 836 }), [
    '-no-progress',
    '-d',
    'tree',
    '-o',
    '1712128',
    'x.iso',
  ]);
});
