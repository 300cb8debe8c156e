// squashfs-tools wrappers (mksquashfs, unsquashfs) and a reader for the superblock.
import { open } from 'node:fs/promises';
import { type RunOptions, run } from '../exec/run.js';
import { pctText, Throttle, type ThrottleOptions } from '../util/progress.js';

export type SquashCompression = 'gzip' | 'lzma' | 'lzo' | 'xz' | 'lz4' | 'zstd';

const compressionIds: Record<number, SquashCompression> = { 1: 'gzip', 2: 'lzma', 3: 'lzo', 4: 'xz', 5: 'lz4', 6: 'zstd' };

export interface SquashSuperblock {
  compression: SquashCompression;
  blockSize: number;
  bytesUsed: number;
  inodes: number;
  modificationTime: number;
}

export const SQUASHFS_SUPERBLOCK_BYTES = 96;

/** Parse a squashfs 4.0 superblock (little endian). Returns undefined when the magic is not 'hsqs'. */
export function parseSuperblock(buf: Uint8Array): SquashSuperblock | undefined {
  if (buf.length < SQUASHFS_SUPERBLOCK_BYTES) return undefined;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.toString('latin1', 0, 4) !== 'hsqs') return undefined;
  const major = b.readUInt16LE(28);
  if (major !== 4) return undefined;
  const compression = compressionIds[b.readUInt16LE(20)];
  if (!compression) return undefined;
  return {
    inodes: b.readUInt32LE(4),
    modificationTime: b.readUInt32LE(8),
    blockSize: b.readUInt32LE(12),
    compression,
    bytesUsed: Number(b.readBigUInt64LE(40)),
  };
}

/** Read the superblock of a squashfs that starts at `offset` in `file` (an ISO, or the squashfs itself). */
export async function readSuperblock(file: string, offset = 0): Promise<SquashSuperblock | undefined> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(SQUASHFS_SUPERBLOCK_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
    return parseSuperblock(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

export interface MksquashfsOptions {
  source: string;
  target: string;
  compression: SquashCompression;
  blockSize?: number | undefined;
  level?: number | undefined;
  processors?: number | undefined;
  /** Fixed times and ownership for reproducible output. */
  sourceDateEpoch?: number | undefined;
  /** Paths (relative to source) to leave out. */
  exclude?: readonly string[] | undefined;
  /** Keep all files as root:root. */
  allRoot?: boolean | undefined;
  /** Draw the progress bar (the caller runs mksquashfs on a terminal and parses it). */
  progress?: boolean | undefined;
}

export function mksquashfsArgs(o: MksquashfsOptions): string[] {
  const args = [o.source, o.target, '-noappend', '-comp', o.compression];
  if (o.blockSize !== undefined) args.push('-b', String(o.blockSize));
  if (o.level !== undefined) {
    if (o.compression === 'xz') args.push('-Xdict-size', '100%');
    else if (o.compression === 'zstd' || o.compression === 'gzip') args.push('-Xcompression-level', String(o.level));
  }
  if (o.processors !== undefined) args.push('-processors', String(o.processors));
  if (o.sourceDateEpoch !== undefined) {
    args.push('-mkfs-time', String(o.sourceDateEpoch), '-all-time', String(o.sourceDateEpoch));
  }
  if (o.allRoot) args.push('-all-root');
  if (o.exclude && o.exclude.length > 0) args.push('-wildcards', '-e', ...o.exclude);
  if (!o.progress) args.push('-no-progress');
  return args;
}

/**
 * mksquashfs refuses SOURCE_DATE_EPOCH in its environment together with -all-time: the flags say it explicitly.
 * With onProgress, mksquashfs runs on a pseudo-terminal (squashfs-tools 4.5 draws its bar only there) and
 * each redraw of the bar is parsed into a throttled percentage.
 */
export const mksquashfs = (o: MksquashfsOptions, io: RunOptions = {}, onProgress?: (line: string) => void) =>
  run('mksquashfs', mksquashfsArgs({ ...o, progress: o.progress ?? onProgress !== undefined }), {
    ...io,
    unsetEnv: ['SOURCE_DATE_EPOCH'],
    ...(onProgress ? { tty: true, onLine: chain(squashfsProgress(onProgress, 'mksquashfs'), io.onLine) } : {}),
  });

function chain(first: (line: string) => boolean, then: RunOptions['onLine']): NonNullable<RunOptions['onLine']> {
  return (line, stream) => first(line) || then?.(line, stream) === true;
}

export interface UnsquashfsOptions {
  image: string;
  dest: string;
  processors?: number | undefined;
  /** Byte offset of the squashfs inside image (a squashfs stored in an ISO). */
  offset?: number | undefined;
  /** Draw the progress bar (unsquashfs draws it on a pipe too, redrawn with \r). */
  progress?: boolean | undefined;
}

export function unsquashfsArgs(o: UnsquashfsOptions): string[] {
  return [
    ...(o.progress ? [] : ['-no-progress']),
    '-d',
    o.dest,
    ...(o.offset === undefined ? [] : ['-o', String(o.offset)]),
    ...(o.processors === undefined ? [] : ['-processors', String(o.processors)]),
    o.image,
  ];
}

export const unsquashfs = (o: UnsquashfsOptions, io: RunOptions = {}, onProgress?: (line: string) => void) =>
  run('unsquashfs', unsquashfsArgs({ ...o, progress: o.progress ?? onProgress !== undefined }), {
    ...io,
    ...(onProgress ? { crLines: true, onLine: chain(squashfsProgress(onProgress, 'unsquashfs'), io.onLine) } : {}),
  });

/** Parse `unsquashfs -s` output (compression and block size), as a cross-check of parseSuperblock. */
export function parseUnsquashfsStat(text: string): { compression?: string; blockSize?: number; bytes?: number } {
  const out: { compression?: string; blockSize?: number; bytes?: number } = {};
  const comp = /^Compression (\w+)/m.exec(text);
  if (comp?.[1]) out.compression = comp[1];
  const bs = /^Block size (\d+)/m.exec(text);
  if (bs?.[1]) out.blockSize = Number(bs[1]);
  const size = /^Filesystem size ([\d.]+) bytes/m.exec(text);
  if (size?.[1]) out.bytes = Number(size[1]);
  return out;
}

export interface BarProgress {
  done: number;
  total: number;
  pct: number;
}

/**
 * squashfs-tools' progress bar, as mksquashfs (on a terminal) and unsquashfs draw it:
 * "[=====/      ]  2096/10457  20%". done/total count blocks (mksquashfs) or blocks and inodes (unsquashfs).
 */
export function parseSquashfsBar(line: string): BarProgress | undefined {
  const m = /\]\s+(\d+)\/(\d+)\s+(\d+)%\s*$/.exec(line);
  if (!m) return undefined;
  return { done: Number(m[1]), total: Number(m[2]), pct: Number(m[3]) };
}

/** onLine for squashfs-tools: bar lines become throttled percentages (and are swallowed); others pass. */
export function squashfsProgress(emit: (text: string) => void, label: string, o: ThrottleOptions = {}): (line: string) => boolean {
  const t = new Throttle(emit, o);
  return (line) => {
    const bar = parseSquashfsBar(line);
    if (!bar) return false;
    t.report(bar.pct, `${label}: ${pctText(bar.pct)} (${bar.done}/${bar.total} blocks)`);
    return true;
  };
}

/**
 * One file's text from a squashfs stored inside another file (a root layer inside an ISO), or undefined when the
 * image does not have it. unsquashfs reads it in place: no mount, no root needed.
 */
export async function squashfsCat(image: string, offset: number, path: string, io: RunOptions = {}): Promise<string | undefined> {
  const r = await run('unsquashfs', ['-o', String(offset), '-cat', image, path], { ...io, okCodes: [0, 1, 2] });
  return r.exitCode === 0 ? r.stdout : undefined;
}

/**
 * Compression level for the squashfs we write (the algorithm: chooseLayerCompression in kernel-config.ts for a
 * layer, the base's for a rebuilt root; the block size is the base's). A layer defaults to zstd/gzip level 3: it mostly holds image
 * archives that are already compressed, which level 15 (mksquashfs' default) grinds through for nothing —
 * measured 61.5 s vs 3.5 s on 685 MiB of libraries plus a 150 MiB archive, for a 4.5 % larger image.
 * A rebuilt root keeps mksquashfs' default unless asked, like the distributions' own builds.
 */
export function squashLevel(compression: string, mode: 'layer' | 'rebuild', wanted: number | undefined): number | undefined {
  if (compression !== 'zstd' && compression !== 'gzip') return undefined;
  const level = wanted ?? (mode === 'layer' ? 3 : undefined);
  return level === undefined ? undefined : Math.min(level, compression === 'gzip' ? 9 : 22);
}
