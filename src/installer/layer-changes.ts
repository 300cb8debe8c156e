// What a copy of the new layer onto an installed root must delete first. An overlay upper directory records
// deletions as whiteouts (character devices 0/0) and opaque directories; installers that copy file by file (tar,
// rsync) copy those literally. Checked against the base under the layer, since only what the base has can be hidden.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../exec/run.js';
import { decodeMountPath } from '../rootfs/mounts.js';

export interface LayerChanges {
  /** Paths the layer deletes from the base (whiteouts). */
  whiteouts: string[];
  /** Folders the layer replaces whole (opaque in the layer, present in the base). */
  opaque: string[];
  /** Base folders the layer replaces with a file or link. */
  replacedDirs: string[];
}

/** Nothing to delete: a plain copy of the layer gives the root the live system sees. */
export function isAdditive(c: LayerChanges): boolean {
  return c.whiteouts.length + c.opaque.length + c.replacedDirs.length === 0;
}

/** Opaque directories of an overlay upper directory (relative paths), from one getfattr walk. */
export async function opaqueDirs(root: string, signal?: AbortSignal): Promise<Set<string>> {
  // getfattr exits 1 when some file has no xattrs at all; its listing is still complete.
  const r = await run('getfattr', ['-R', '-P', '--absolute-names', '-d', '-m', '^trusted\\.overlay\\.opaque$', root], {
    signal,
    okCodes: [0, 1],
  });
  return parseOpaque(r.stdout, root);
}

/** getfattr --dump output -> folders (relative to root) whose trusted.overlay.opaque is "y". */
export function parseOpaque(text: string, root: string): Set<string> {
  const out = new Set<string>();
  let file: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) file = decodeMountPath(line.slice('# file: '.length));
    else if (file !== undefined && line.trim() === 'trusted.overlay.opaque="y"' && file.startsWith(`${root}/`))
      out.add(file.slice(root.length + 1));
  }
  return out;
}

/**
 * The layer's deletions that matter for a copy onto `base` (the base root, mounted read-only): whiteouts of paths the
 * base has, opaque folders the base has, and base folders the layer turns into files.
 */
export async function layerChanges(layer: string, base: string, signal?: AbortSignal): Promise<LayerChanges> {
  const changes: LayerChanges = { whiteouts: [], opaque: [], replacedDirs: [] };
  const inBase = async (p: string) => lstat(join(base, p)).catch(() => undefined);
  const opaque = await opaqueDirs(layer, signal);
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(layer, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (opaque.has(p) && (await inBase(p))?.isDirectory()) changes.opaque.push(p);
        await walk(p);
        continue;
      }
      const st = await lstat(join(layer, p));
      if (st.isCharacterDevice() && st.rdev === 0) {
        if (await inBase(p)) changes.whiteouts.push(p);
        continue;
      }
      if ((await inBase(p))?.isDirectory()) changes.replacedDirs.push(p);
    }
  };
  await walk('');
  for (const list of Object.values(changes)) list.sort();
  return changes;
}

/** The deletions as the install hook reads them: one "<kind> <path>" line each (w whiteout, o opaque, r replaced). */
export function changesText(c: LayerChanges): string {
  return [...c.whiteouts.map((p) => `w ${p}`), ...c.opaque.map((p) => `o ${p}`), ...c.replacedDirs.map((p) => `r ${p}`)]
    .map((l) => `${l}\n`)
    .join('');
}
