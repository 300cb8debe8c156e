// Content identities: file digests and a canonical JSON form for hashing structured inputs (cache keys, resume stamps).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export type HashAlgo = 'md5' | 'sha256';

/** Hex digest of a file, read once; several algorithms share the read. */
export async function hashFile(path: string, algo: HashAlgo): Promise<string>;
export async function hashFile(path: string, algos: readonly HashAlgo[]): Promise<string[]>;
export async function hashFile(path: string, algo: HashAlgo | readonly HashAlgo[]): Promise<string | string[]> {
  const list = typeof algo === 'string' ? [algo] : algo;
  const hashes = list.map((a) => createHash(a));
  await new Promise<void>((resolve, reject) => {
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => {
        for (const h of hashes) h.update(chunk);
      })
      .on('error', reject)
      .on('end', resolve);
  });
  const hex = hashes.map((h) => h.digest('hex'));
  return typeof algo === 'string' ? (hex[0] ?? '') : hex;
}

/** sha256 hex of a file. */
export function sha256File(path: string): Promise<string> {
  return hashFile(path, 'sha256');
}

/** JSON with object keys sorted (undefined members left out), so equal inputs always hash the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Short hex id of a value: the first `length` hex digits of sha256(canonicalJson(value)). */
export function contentKey(value: unknown, length = 16): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, length);
}
