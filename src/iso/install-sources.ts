// subiquity's install sources (casper/install-sources.yaml): what an installation copies, read and rewritten the way
// subiquity and curtin use them. subiquity (models/source.py) reads a YAML list of catalog entries; each has a path
// and optional variations, each variation its own path. curtin (commands/extract.py, fsimage-layered) splits a
// path's basename on dots and mounts every prefix read-only as one overlay, the longest name on top; a missing
// member fails the install. With preinstalled_langs, subiquity appends the language (or no-languages) to the name.
import { posix } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { layerChain } from './initrd.js';

export const INSTALL_SOURCES = '/casper/install-sources.yaml';

export interface InstallSourceVariation {
  name: string;
  path: string;
  size?: number | undefined;
}

export interface InstallSource {
  id: string;
  /** The catalog entry's path (relative to /casper). */
  path: string;
  type: string;
  default: boolean;
  size?: number | undefined;
  /** variations.*: each its own path; an entry without variations has one, its own path (as subiquity synthesises). */
  variations: InstallSourceVariation[];
  /** Desktop sources with language layers: subiquity installs <path stem>.<lang>.squashfs. */
  preinstalledLangs: string[];
}

/** What install-sources.yaml held: the sources, or why remaster cannot read it. */
export type InstallSourcesDoc = { ok: true; sources: InstallSource[] } | { ok: false; why: string };

export function parseInstallSources(text: string): InstallSourcesDoc {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    return { ok: false, why: `install-sources.yaml is not YAML (${(e as Error).message.split('\n')[0]})` };
  }
  if (!Array.isArray(doc)) {
    const version = typeof doc === 'object' && doc !== null && 'version' in doc ? ` (version: ${String(doc.version)})` : '';
    return {
      ok: false,
      why: `install-sources.yaml is ${doc === null ? 'empty' : `a ${typeof doc === 'object' ? 'mapping' : typeof doc}`}${version}, not the list of sources subiquity reads up to 25.04`,
    };
  }
  const sources: InstallSource[] = [];
  for (const [i, e] of doc.entries()) {
    if (typeof e !== 'object' || e === null || typeof (e as { path?: unknown }).path !== 'string') {
      return { ok: false, why: `install-sources.yaml entry ${i + 1} has no path` };
    }
    const r = e as Record<string, unknown>;
    const path = String(r.path);
    const vars = typeof r.variations === 'object' && r.variations !== null ? (r.variations as Record<string, unknown>) : {};
    const variations: InstallSourceVariation[] = [];
    for (const [name, v] of Object.entries(vars)) {
      const vp = (v as { path?: unknown } | null)?.path;
      if (typeof vp !== 'string') return { ok: false, why: `install-sources.yaml: variation ${name} of ${String(r.id)} has no path` };
      variations.push({ name, path: vp, size: numberOrUndefined((v as { size?: unknown }).size) });
    }
    if (variations.length === 0) variations.push({ name: 'default', path, size: numberOrUndefined(r.size) });
    sources.push({
      id: String(r.id ?? path),
      path,
      type: String(r.type ?? ''),
      default: r.default === true,
      size: numberOrUndefined(r.size),
      variations,
      preinstalledLangs: Array.isArray(r.preinstalled_langs) ? r.preinstalled_langs.map(String) : [],
    });
  }
  if (sources.length === 0) return { ok: false, why: 'install-sources.yaml lists no source' };
  return { ok: true, sources };
}

function numberOrUndefined(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** The source subiquity installs when nobody chooses: the one marked default, else the first. */
export function defaultSource(sources: readonly InstallSource[]): InstallSource | undefined {
  return sources.find((s) => s.default) ?? sources[0];
}

/** Every distinct path an installation can copy (each source's path and its variations'), default source first. */
export function sourcePaths(sources: readonly InstallSource[]): string[] {
  const d = defaultSource(sources);
  const ordered = d ? [d, ...sources.filter((s) => s !== d)] : [...sources];
  return [...new Set(ordered.flatMap((s) => [s.path, ...s.variations.map((v) => v.path)]))];
}

/** The ISO paths curtin mounts for a source path, bottom first (every dotted prefix of its name). */
export function curtinChain(path: string, dir = '/casper'): string[] {
  return layerChain(posix.basename(path)).map((n) => `${dir}/${n}`);
}

/** Members of a source's chain the medium lacks. */
export function missingMembers(path: string, has: (isoPath: string) => boolean): string[] {
  return curtinChain(path).filter((p) => !has(p));
}

/** The name of remaster's layer over a source's chain: one more dotted component, e.g. a.b.remaster.squashfs. */
export function sourceLayerName(path: string): string {
  return posix.basename(path).replace(/\.squashfs$/, '.remaster.squashfs');
}

/**
 * install-sources.yaml with every path pointed at remaster's layer over it: the entry's path and each variation's,
 * their sizes (the unpacked bytes of the chain with the layer), and type fsimage-layered where it was fsimage (one
 * file becomes a chain). Every other field is kept as it was.
 */
export function rewriteInstallSources(text: string, layers: ReadonlyMap<string, { name: string; size: number }>): string {
  const doc = parseYaml(text) as Record<string, unknown>[];
  const at = (p: unknown) => {
    const l = layers.get(String(p));
    if (!l) throw new Error(`internal: no remaster layer for install source ${String(p)}`);
    return l;
  };
  for (const e of doc) {
    const l = at(e.path);
    e.path = l.name;
    if (typeof e.size === 'number') e.size = l.size;
    if (e.type === 'fsimage') e.type = 'fsimage-layered';
    if (typeof e.variations === 'object' && e.variations !== null) {
      for (const v of Object.values(e.variations as Record<string, Record<string, unknown>>)) {
        const vl = at(v.path);
        v.path = vl.name;
        if (typeof v.size === 'number') v.size = vl.size;
      }
    }
  }
  return stringifyYaml(doc, { lineWidth: 0 });
}
