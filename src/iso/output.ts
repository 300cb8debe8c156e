// The published ISO: written beside --out and renamed onto it only when complete (and verified), an ISO that failed
// verification kept aside for a look, never at --out, and its line in SHA256SUMS.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { VerificationError } from '../errors.js';

/** Where the ISO is written before it is renamed onto --out: beside it, so the rename is atomic. */
export function partialPath(out: string): string {
  const abs = resolve(out);
  return join(dirname(abs), `.${basename(abs)}.remaster-partial`);
}

/** Where an ISO that failed verification is kept for inspection: never at --out. */
export function unverifiedPath(out: string): string {
  return `${resolve(out)}.unverified`;
}

/** After a failed run: no partial file stays beside --out; an ISO that failed verification is kept aside. */
export async function cleanupOutput(out: string, error: unknown): Promise<string | undefined> {
  const partial = partialPath(out);
  if (error instanceof VerificationError) {
    const aside = unverifiedPath(out);
    try {
      await rename(partial, aside);
      return aside;
    } catch {
      return undefined;
    }
  }
  await rm(partial, { force: true });
  return undefined;
}

/** SHA256SUMS beside the ISO (sha256sum -c format): one line per ISO name, replaced when rebuilt. */
export function updateSha256Sums(text: string, name: string, sha256: string): string {
  const lines = text.split('\n').filter((l) => l.trim() && l.replace(/^[0-9a-f]{64}\s+\*?/, '') !== name);
  return `${[...lines, `${sha256}  ${name}`].sort((a, b) => a.slice(66).localeCompare(b.slice(66))).join('\n')}\n`;
}

export async function recordChecksum(out: string, sha256: string): Promise<void> {
  const file = join(dirname(out), 'SHA256SUMS');
  const before = await readFile(file, 'utf8').catch(() => '');
  const tmp = `${file}.remaster-partial`;
  await writeFile(tmp, updateSha256Sums(before, basename(out), sha256));
  await rename(tmp, file);
}
