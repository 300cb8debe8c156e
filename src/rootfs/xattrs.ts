// Strip the bookkeeping xattrs overlayfs writes into an upper directory before it becomes a squashfs layer.
// origin/impure/uuid/nlink describe the build host's mount (trusted.overlay.uuid is random per mount), so
// they make the layer unreproducible and mean nothing to the live system; opaque (and whiteouts) stay.
import { type RunOptions, run } from '../exec/run.js';
import { decodeMountPath } from './mounts.js';

export const OVERLAY_BOOKKEEPING = /^trusted\.overlay\.(origin|impure|uuid|nlink|upper)$/;

export function getfattrArgs(root: string): string[] {
  return ['-R', '-P', '--absolute-names', '-m', '^trusted\\.overlay\\.(origin|impure|uuid|nlink|upper)$', root];
}

/** getfattr's listing (names only) -> attribute name -> files. Paths come octal-escaped like mountinfo's. */
export function parseGetfattr(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let file: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) file = decodeMountPath(line.slice('# file: '.length));
    else if (line.trim() && file !== undefined && OVERLAY_BOOKKEEPING.test(line.trim())) {
      const name = line.trim();
      out.set(name, [...(out.get(name) ?? []), file]);
    }
  }
  return out;
}

export async function stripOverlayXattrs(root: string, io: RunOptions = {}): Promise<number> {
  // getfattr exits 1 when some file has no xattrs at all; its listing is still complete.
  const { stdout } = await run('getfattr', getfattrArgs(root), { ...io, okCodes: [0, 1] });
  let removed = 0;
  for (const [name, files] of parseGetfattr(stdout)) {
    for (let i = 0; i < files.length; i += 200) {
      const batch = files.slice(i, i + 200);
      await run('setfattr', ['-h', '-x', name, '--', ...batch], io);
      removed += batch.length;
    }
  }
  return removed;
}
