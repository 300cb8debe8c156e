// Read an initrd straight out of an ISO: a chain of cpio archives (uncompressed early ones for CPU microcode,
// then usually one compressed main archive). We list every entry name and keep the few small files that decide
// how the live system boots (casper's default-layer.conf, which boot scripts exist).
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import cpio from 'cpio-stream';

export type InitrdCompression = 'none' | 'gzip' | 'zstd' | 'xz' | 'lz4' | 'lzma' | 'bzip2';

export interface InitrdPart {
  /** Byte offset of this archive inside the initrd. */
  offset: number;
  compression: InitrdCompression;
  entries: number;
}

export interface InitrdContents {
  parts: InitrdPart[];
  /** Every entry name, without a leading "./" or "/". */
  names: Set<string>;
  /** Contents of the entries `want` selected (small files only). */
  files: Map<string, string>;
}

const MAX_KEPT = 64 * 1024;

export function compressionOf(magic: Buffer): Exclude<InitrdCompression, 'none'> | 'cpio' | undefined {
  const hex = magic.subarray(0, 6).toString('hex');
  const ascii = magic.subarray(0, 6).toString('latin1');
  if (ascii === '070701' || ascii === '070702' || ascii === '070707') return 'cpio';
  if (hex.startsWith('1f8b')) return 'gzip';
  if (hex.startsWith('28b52ffd')) return 'zstd';
  if (hex.startsWith('fd377a585a00')) return 'xz';
  if (hex.startsWith('02214c18') || hex.startsWith('04224d18')) return 'lz4';
  if (hex.startsWith('5d0000')) return 'lzma';
  if (hex.startsWith('425a68')) return 'bzip2';
  return undefined;
}

const DECOMPRESSOR: Record<Exclude<InitrdCompression, 'none'>, [string, string[]]> = {
  gzip: ['gzip', ['-dc']],
  zstd: ['zstd', ['-dcq']],
  xz: ['xz', ['-dc']],
  lzma: ['xz', ['--format=lzma', '-dc']],
  lz4: ['lz4', ['-dc']],
  bzip2: ['bzip2', ['-dc']],
};

export const normalName = (name: string) => name.replace(/^(\.\/|\/)+/, '');

/**
 * Read the initrd stored at [start, start + length) of file. `want` picks entries whose contents to keep.
 * Throws on bytes that are neither cpio nor a known compression.
 */
export async function readInitrd(file: string, start: number, length: number, want: (name: string) => boolean): Promise<InitrdContents> {
  const fh = await open(file, 'r');
  const out: InitrdContents = { parts: [], names: new Set(), files: new Map() };
  try {
    let pos = 0;
    while (pos < length) {
      const head = Buffer.alloc(8);
      await fh.read(head, 0, 8, start + pos);
      if (head.every((b) => b === 0)) {
        pos = await skipZeros(fh, start, pos, length);
        continue;
      }
      const kind = compressionOf(head);
      if (kind === undefined) throw new Error(`unknown data at offset ${pos} of the initrd (magic ${head.subarray(0, 6).toString('hex')})`);
      if (kind === 'cpio') {
        const part = await walkCpio(fh, start, pos, length, want, out);
        out.parts.push({ offset: pos, compression: 'none', entries: part.entries });
        pos = part.end;
        continue;
      }
      // A compressed archive runs to the end of the initrd (the kernel accepts more after it; distributions never do).
      const entries = await extractCompressed(file, start + pos, length - pos, kind, want, out);
      out.parts.push({ offset: pos, compression: kind, entries });
      break;
    }
  } finally {
    await fh.close();
  }
  return out;
}

async function skipZeros(fh: import('node:fs/promises').FileHandle, start: number, pos: number, length: number): Promise<number> {
  const buf = Buffer.alloc(4096);
  while (pos < length) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - pos), start + pos);
    if (bytesRead === 0) return length;
    const i = buf.subarray(0, bytesRead).findIndex((b) => b !== 0);
    if (i >= 0) return pos + i;
    pos += bytesRead;
  }
  return length;
}

/** Walk an uncompressed newc/crc/odc archive by its headers; returns where it ends. */
async function walkCpio(
  fh: import('node:fs/promises').FileHandle,
  start: number,
  pos: number,
  length: number,
  want: (name: string) => boolean,
  out: InitrdContents,
): Promise<{ end: number; entries: number }> {
  let entries = 0;
  for (;;) {
    const hdr = Buffer.alloc(110);
    await fh.read(hdr, 0, 110, start + pos);
    const magic = hdr.subarray(0, 6).toString('latin1');
    let nameSize: number;
    let fileSize: number;
    let headerLen: number;
    let align: number;
    if (magic === '070701' || magic === '070702') {
      const field = (i: number) => Number.parseInt(hdr.subarray(6 + i * 8, 14 + i * 8).toString('latin1'), 16);
      fileSize = field(6);
      nameSize = field(11);
      headerLen = 110;
      align = 4;
    } else if (magic === '070707') {
      fileSize = Number.parseInt(hdr.subarray(65, 76).toString('latin1'), 8);
      nameSize = Number.parseInt(hdr.subarray(59, 65).toString('latin1'), 8);
      headerLen = 76;
      align = 1;
    } else {
      throw new Error(`corrupt cpio header at offset ${pos} of the initrd`);
    }
    if (!Number.isFinite(fileSize) || !Number.isFinite(nameSize) || nameSize < 1) throw new Error(`corrupt cpio header at offset ${pos}`);
    const nameBuf = Buffer.alloc(nameSize - 1);
    await fh.read(nameBuf, 0, nameSize - 1, start + pos + headerLen);
    const name = nameBuf.toString('utf8');
    const dataAt = roundUp(pos + headerLen + nameSize, align);
    const next = roundUp(dataAt + fileSize, align);
    if (next > length) throw new Error(`cpio entry ${name} runs past the end of the initrd`);
    if (name === 'TRAILER!!!') return { end: next, entries };
    entries++;
    const n = normalName(name);
    if (n) out.names.add(n);
    if (n && want(n) && fileSize <= MAX_KEPT) {
      const data = Buffer.alloc(fileSize);
      await fh.read(data, 0, fileSize, start + dataAt);
      out.files.set(n, data.toString('utf8'));
    }
    pos = next;
  }
}

const roundUp = (n: number, a: number) => Math.ceil(n / a) * a;

/**
 * Decompress with the system tool and parse the stream with cpio-stream; never holds the archive in memory. The
 * decompressed stream may hold several archives one after another (a segment appended to an initrd.gz is a second
 * gzip member, which the decompressor continues into, as the kernel does): each goes to an extractor of its own.
 */
function extractCompressed(
  file: string,
  start: number,
  length: number,
  kind: Exclude<InitrdCompression, 'none'>,
  want: (name: string) => boolean,
  out: InitrdContents,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const [cmd, args] = DECOMPRESSOR[kind];
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let entries = 0;
    let stderr = '';
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      child.kill();
      reject(e);
    };
    child.on('error', (e) => fail(new Error(`${cmd} could not run: ${e.message}`)));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const input = Readable.from(readRange(file, start, length));
    input.on('error', (e) => fail(e));
    input.pipe(child.stdin).on('error', () => {
      // The decompressor stops reading at the end of its frame: trailing padding is not an error.
    });
    const newExtractor = () => {
      const extract = cpio.extract();
      extract.on('entry', (header: { name: string; size: number }, stream: NodeJS.ReadableStream, next: () => void) => {
        entries++;
        const n = normalName(header.name);
        if (n) out.names.add(n);
        if (n && want(n) && header.size <= MAX_KEPT) {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            out.files.set(n, Buffer.concat(chunks).toString('utf8'));
            next();
          });
        } else {
          stream.on('end', next);
          stream.resume();
        }
      });
      extract.on('error', (e: Error) => fail(new Error(`the ${kind} part of the initrd is not a cpio archive: ${e.message}`)));
      return extract;
    };
    const done = splitArchives(child.stdout, newExtractor).catch((e: unknown) => fail(e as Error));
    child.on('close', (code) => {
      void done.then(() => {
        if (failed) return;
        // gzip and xz exit non-zero on the zero padding after the stream; the archives themselves were read in full.
        if (entries > 0) resolve(entries);
        else reject(new Error(`${cmd} ${args.join(' ')} failed on the initrd (exit ${code}): ${stderr.trim().split('\n').at(-1) ?? ''}`));
      });
    });
  });
}

/**
 * Cut a stream of concatenated cpio archives (newc, crc or odc; zero padding between them) at each TRAILER!!! and
 * write every archive into an extractor of its own. Only record sizes are read here; cpio-stream reads the entries.
 */
export async function splitArchives(stream: AsyncIterable<Buffer | string>, newExtractor: () => NodeJS.WritableStream): Promise<number> {
  let buf = Buffer.alloc(0);
  let extract: NodeJS.WritableStream | undefined;
  let forward = 0;
  let archives = 0;
  const write = (b: Buffer) =>
    new Promise<void>((resolve) => {
      if (!extract || extract.write(b)) resolve();
      else extract.once('drain', () => resolve());
    });
  const finish = async () => {
    if (!extract) return;
    const e = extract;
    extract = undefined;
    await new Promise<void>((resolve) => e.end(() => resolve()));
  };
  for await (const chunk of stream) {
    buf = Buffer.concat([buf, typeof chunk === 'string' ? Buffer.from(chunk) : chunk]);
    for (;;) {
      if (forward > 0) {
        const n = Math.min(forward, buf.length);
        if (n === 0) break;
        await write(buf.subarray(0, n));
        buf = buf.subarray(n);
        forward -= n;
        continue;
      }
      if (!extract) {
        // Between archives: zero padding, then the next one's magic.
        const i = buf.findIndex((b) => b !== 0);
        if (i < 0) {
          buf = Buffer.alloc(0);
          break;
        }
        buf = buf.subarray(i);
        if (buf.length < 6) break;
        extract = newExtractor();
        archives++;
      }
      const record = cpioRecord(buf);
      if (record === 'short') break;
      await write(buf.subarray(0, record.headerBytes));
      buf = buf.subarray(record.headerBytes);
      forward = record.dataBytes;
      if (record.trailer) {
        forward = 0;
        await finish();
      }
    }
  }
  await finish();
  return archives;
}

/** The sizes of the cpio record at the start of buf (header and name; data and its padding), or 'short'. */
function cpioRecord(buf: Buffer): { headerBytes: number; dataBytes: number; trailer: boolean } | 'short' {
  // A chunk of the decompressed stream may end exactly at a record's end, or inside the next magic.
  if (buf.length < 6) return 'short';
  const magic = buf.subarray(0, 6).toString('latin1');
  if (magic === '070701' || magic === '070702') {
    if (buf.length < 110) return 'short';
    const field = (i: number) => Number.parseInt(buf.subarray(6 + i * 8, 14 + i * 8).toString('latin1'), 16);
    const nameSize = field(11);
    const headerBytes = roundUp(110 + nameSize, 4);
    if (buf.length < headerBytes) return 'short';
    const name = buf.subarray(110, 110 + nameSize - 1).toString('latin1');
    return { headerBytes, dataBytes: roundUp(field(6), 4), trailer: name === 'TRAILER!!!' };
  }
  if (magic === '070707') {
    if (buf.length < 76) return 'short';
    const nameSize = Number.parseInt(buf.subarray(59, 65).toString('latin1'), 8);
    const headerBytes = 76 + nameSize;
    if (buf.length < headerBytes) return 'short';
    const name = buf.subarray(76, 76 + nameSize - 1).toString('latin1');
    return { headerBytes, dataBytes: Number.parseInt(buf.subarray(65, 76).toString('latin1'), 8), trailer: name === 'TRAILER!!!' };
  }
  throw new Error(`not a cpio header (magic ${buf.subarray(0, 6).toString('hex')})`);
}

async function* readRange(file: string, start: number, length: number): AsyncGenerator<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - done), start + done);
      if (bytesRead === 0) break;
      done += bytesRead;
      yield Buffer.from(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
}

/** casper's layer chain for a LAYERFS_PATH value: `a.b.c.squashfs` -> a, a.b, a.b.c (bottom first). */
export function layerChain(layerfsPath: string): string[] {
  const name = layerfsPath.replace(/^.*\//, '').replace(/\.squashfs$/, '');
  const parts = name.split('.').filter(Boolean);
  return parts.map((_, i) => `${parts.slice(0, i + 1).join('.')}.squashfs`);
}

/** LAYERFS_PATH from conf/conf.d/default-layer.conf (shell assignment, maybe quoted or exported). */
export function parseDefaultLayer(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?LAYERFS_PATH=(["']?)([^"'\s]+)\1\s*$/.exec(line);
    if (m?.[2]) return m[2];
  }
  return undefined;
}
