// squashfs-tools: argv, the superblock and unsquashfs -s parsers, and the progress bar (captured from
// squashfs-tools 4.5.1 on Debian bookworm).
import { LineSplitter } from '../../../src/exec/trace.js';
import {
  mksquashfsArgs,
  parseSquashfsBar,
  parseSuperblock,
  parseUnsquashfsStat,
  squashfsProgress,
  unsquashfsArgs,
} from '../../../src/rootfs/squashfs.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
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

/** `unsquashfs -d y -processors 1 o.sqfs` with stdout on a pipe: the bar redraws with \r, no newline. */
const UNSQUASHFS_OUTPUT =
  'Parallel unsquashfs: Using 1 processor\n4798 inodes (5659 blocks) to write\n\n\r[===========/                                                ]  2096/10457  20%\r[===================-                                        ]  3388/10457  32%\r[===========================\\                                ]  4835/10457  46%\r[===================================|                        ]  6262/10457  59%\r[=======================================/                    ]  7048/10457  67%\r[=============================================-              ]  8110/10457  77%\r[====================================================\\       ]  9218/10457  88%\r[===========================================================\\] 10457/10457 100%\n\ncreated 4717 files\ncreated 952 directories\ncreated 81 symlinks\ncreated 0 devices\ncreated 0 fifos\ncreated 0 sockets\ncreated 0 hardlinks\n';

/** mksquashfs on a pseudo-terminal (script -qec "stty cols 100; mksquashfs ..."): first, a middle and the last bar. */
const MKSQUASHFS_BARS = [
  '[/                                                                                 ]   41/5659   0%',
  '[=======================================================================/          ] 4977/5659  87%',
  '[=================================================================================/] 5659/5659 100%',
];

test('squashfs bars: unsquashfs output split on \\r gives every redraw, in order', () => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l), true);
  // Arbitrary chunk boundaries, as a pipe delivers them.
  for (let i = 0; i < UNSQUASHFS_OUTPUT.length; i += 37) s.push(Buffer.from(UNSQUASHFS_OUTPUT.slice(i, i + 37)));
  s.end();
  const bars = lines.map(parseSquashfsBar).filter((b) => b !== undefined);
  assert.deepEqual(
    bars.map((b) => b.pct),
    [20, 32, 46, 59, 67, 77, 88, 100],
  );
  assert.deepEqual(bars[0], { done: 2096, total: 10457, pct: 20 });
  assert.ok(lines.includes('created 4717 files'), 'ordinary lines still come through');
});

test('squashfs bars: mksquashfs on a terminal', () => {
  assert.deepEqual(MKSQUASHFS_BARS.map(parseSquashfsBar), [
    { done: 41, total: 5659, pct: 0 },
    { done: 4977, total: 5659, pct: 87 },
    { done: 5659, total: 5659, pct: 100 },
  ]);
  assert.equal(parseSquashfsBar('Parallel mksquashfs: Using 1 processor'), undefined);
  assert.equal(parseSquashfsBar('\t60.89% of uncompressed filesystem size (172765.13 Kbytes)'), undefined);
});

test('squashfsProgress swallows bar lines and reports throttled percentages', () => {
  const out: string[] = [];
  const on = squashfsProgress((l) => out.push(l), 'mksquashfs', { now: () => 0 });
  assert.equal(on('Parallel mksquashfs: Using 1 processor'), false);
  for (const bar of MKSQUASHFS_BARS) assert.equal(on(bar), true);
  assert.deepEqual(out, ['mksquashfs: 0 % (41/5659 blocks)', 'mksquashfs: 100 % (5659/5659 blocks)'], '87 % came too soon after 0 %');
});
