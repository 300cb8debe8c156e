// Checksum files at the ISO root (md5sum.txt, sha256sum.txt, SHA256SUMS): update exactly the entries that changed.
import type { HashAlgo } from '../util/hash.js';

export function algoOf(isoPath: string): HashAlgo {
  return /md5/i.test(isoPath) ? 'md5' : 'sha256';
}

/**
 * Replace or add the lines for changed ISO paths, keeping the file's own path style ("./live/x" or "live/x")
 * and its order; new entries go at the end.
 */
export function updateChecksumText(text: string, changed: ReadonlyMap<string, string>): string {
  const lines = text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  const style = lines.find((l) => /^[0-9a-f]+\s+\S/.test(l))?.match(/^[0-9a-f]+(\s+)(\.\/)?/) ?? null;
  const sep = style?.[1] ?? '  ';
  const prefix = style ? (style[2] ?? '') : './';
  const seen = new Set<string>();
  const out = lines.map((line) => {
    const m = /^([0-9a-f]+)(\s+)(.*)$/.exec(line);
    if (!m) return line;
    const path = `/${(m[3] ?? '').replace(/^\.?\//, '')}`;
    const sum = changed.get(path);
    if (sum === undefined) return line;
    seen.add(path);
    return `${sum}${m[2]}${m[3]}`;
  });
  for (const [path, sum] of changed) if (!seen.has(path)) out.push(`${sum}${sep}${prefix}${path.slice(1)}`);
  return `${out.join('\n')}\n`;
}
