// A newc cpio archive, gzip-compressed, to append to an initrd: the kernel unpacks concatenated archives in order,
// later entries replacing earlier ones, so an appended segment adds or replaces files without rebuilding the initrd.
import { gzipSync } from 'node:zlib';

export interface CpioEntry {
  /** Path inside the archive, without a leading "/" (folders are made for it). */
  path: string;
  /** Permission bits (0o755, 0o644); files only. */
  mode: number;
  content: string | Buffer;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;
const hex8 = (n: number) => n.toString(16).padStart(8, '0');

function header(name: string, mode: number, size: number, ino: number, mtime: number): Buffer {
  const fields = [ino, mode, 0, 0, 1, mtime, size, 0, 0, 0, 0, Buffer.byteLength(name) + 1, 0];
  const text = `070701${fields.map(hex8).join('')}${name}\0`;
  return Buffer.concat([Buffer.from(text, 'latin1'), Buffer.alloc(pad4(110 + Buffer.byteLength(name) + 1))]);
}

/**
 * The archive for entries (folders first, made 0755; entries sorted by path), owned by root, every date `mtime`
 * (seconds): the same input gives the same bytes.
 */
export function newcArchive(entries: readonly CpioEntry[], mtime: number): Buffer {
  const dirs = new Set<string>();
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const chunks: Buffer[] = [];
  let ino = 1;
  for (const d of [...dirs].sort()) chunks.push(header(d, 0o040755, 0, ino++, mtime));
  for (const e of [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const data = Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content, 'utf8');
    chunks.push(header(e.path, 0o100000 | e.mode, data.length, ino++, mtime), data, Buffer.alloc(pad4(data.length)));
  }
  chunks.push(header('TRAILER!!!', 0, 0, 0, 0));
  const body = Buffer.concat(chunks);
  // Kernels read archives in 512-byte blocks; cpio(1) pads the same way.
  return Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

/** The gzip-compressed archive (a fixed gzip header: no name, no date), ready to append to an initrd.gz. */
export function initrdSegment(entries: readonly CpioEntry[], mtime: number): Buffer {
  return gzipSync(newcArchive(entries, mtime), { level: 9 });
}
