// Shared cache of engine installs (layer mode): the new layer's files right after the engine was installed on
// one base with one exactly resolved package set, so builds on the same base (customer variants, reruns with
// other images) copy them instead of running apt and dpkg again.
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../exec/run.js';
import { canonicalJson } from '../util/hash.js';

/** Bumped whenever what the engine stage leaves in the layer changes shape. */
const ENGINE_CACHE_VERSION = 1;
/**
 * Installs kept (the most recently used): each is a few hundred MiB. One build can need several: an Ubuntu subiquity
 * base has one per install chain (a 24.04 server: the live chain and two sources), so 4 made a server and a desktop
 * build evict each other's.
 */
export const ENGINE_CACHE_KEEP = 10;
/** A temporary folder this old was left by a killed build (a store takes seconds). */
const STALE_TMP_MS = 24 * 3600 * 1000;

/** Files and bytes of a tree (symlinks and device nodes count as files of their own size). */
export interface TreeSummary {
  files: number;
  bytes: number;
}

export interface EngineEntry {
  installedPackages: string[];
  tree: TreeSummary;
}

/**
 * The key of an install: the base's identity, the architecture, everything the stage is configured with, and
 * what apt resolved (every package and version it would install) or the offline .deb files.
 */
export function engineCacheKey(identity: unknown): string {
  return createHash('sha256')
    .update(canonicalJson({ v: ENGINE_CACHE_VERSION, identity }))
    .digest('hex')
    .slice(0, 32);
}

export async function summariseTree(dir: string): Promise<TreeSummary> {
  let files = 0;
  let bytes = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        await walk(p);
        continue;
      }
      files += 1;
      bytes += (await lstat(p)).size;
    }
  };
  await walk(dir);
  return { files, bytes };
}

function entryDir(cacheDir: string, key: string): string {
  return join(cacheDir, 'engine', key);
}

/**
 * The entry under key, when there is one and its tree still has the files and bytes it was stored with (an entry
 * someone pruned by hand is dropped, and the caller installs as usual).
 */
export async function cachedEngine(cacheDir: string, key: string): Promise<EngineEntry | undefined> {
  const dir = entryDir(cacheDir, key);
  let entry: EngineEntry;
  try {
    entry = JSON.parse(await readFile(join(dir, 'entry.json'), 'utf8')) as EngineEntry;
  } catch {
    return undefined;
  }
  const now = await summariseTree(join(dir, 'tree')).catch(() => undefined);
  if (!now || now.files !== entry.tree.files || now.bytes !== entry.tree.bytes) {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  // Last use, for pruning.
  const t = new Date();
  await utimes(join(dir, 'entry.json'), t, t).catch(() => {});
  return entry;
}

/** Keep the ENGINE_CACHE_KEEP most recently used installs; drop temporary folders killed builds left. */
export async function pruneEngineCache(cacheDir: string, keep = ENGINE_CACHE_KEEP): Promise<string[]> {
  const root = join(cacheDir, 'engine');
  const names = await readdir(root).catch(() => [] as string[]);
  const entries: { name: string; used: number }[] = [];
  const removed: string[] = [];
  for (const name of names) {
    const p = join(root, name);
    if (name.startsWith('.tmp-')) {
      const st = await stat(p).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > STALE_TMP_MS) {
        await rm(p, { recursive: true, force: true });
        removed.push(name);
      }
      continue;
    }
    const st = await stat(join(p, 'entry.json')).catch(() => undefined);
    entries.push({ name, used: st?.mtimeMs ?? 0 });
  }
  entries.sort((a, b) => b.used - a.used);
  for (const e of entries.slice(keep)) {
    await rm(join(root, e.name), { recursive: true, force: true });
    removed.push(e.name);
  }
  return removed;
}

/** Copy the cached install under key into layerRoot (an empty, unmounted layer). */
export async function restoreEngine(cacheDir: string, key: string, layerRoot: string, signal?: AbortSignal): Promise<void> {
  // cp -a keeps owners, modes, times, hard links, xattrs and the overlay whiteouts (character devices 0/0).
  await run('cp', ['-a', '--', `${join(entryDir(cacheDir, key), 'tree')}/.`, `${layerRoot}/`], { signal });
}

/** Store layerRoot (the layer right after the install) under key; another build's equal entry wins a race. */
export async function storeEngine(
  cacheDir: string,
  key: string,
  layerRoot: string,
  installedPackages: string[],
  signal?: AbortSignal,
): Promise<void> {
  const root = join(cacheDir, 'engine');
  await mkdir(root, { recursive: true });
  const tmp = join(root, `.tmp-${key.slice(0, 8)}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(tmp);
    await run('cp', ['-a', '--', layerRoot, join(tmp, 'tree')], { signal });
    const entry: EngineEntry = { installedPackages, tree: await summariseTree(join(tmp, 'tree')) };
    await writeFile(join(tmp, 'entry.json'), `${JSON.stringify(entry, null, 2)}\n`);
    try {
      await rename(tmp, entryDir(cacheDir, key));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  await pruneEngineCache(cacheDir);
}
