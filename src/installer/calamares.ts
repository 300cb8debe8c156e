// Calamares (Debian's live desktops) installs by unpacking the images its unpackfs.conf lists, in order, with rsync.
// The new layer carries an unpackfs.conf that lists the base's images and then the layer itself.
import { posix } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import type { Engine } from '../types.js';
import { INSTALLED_STORE_DIR, installedStoreCopy } from '../units/render.js';

/** Where Calamares reads its unpackfs settings (the live root's copy; the layer's replaces the base's). */
export const UNPACKFS_CONF = 'etc/calamares/modules/unpackfs.conf';

export interface UnpackEntry {
  source: string;
  sourcefs: string;
  destination: string;
  [more: string]: unknown;
}

/** The `unpack:` entries of an unpackfs.conf, or undefined when it has none Calamares would use. */
export function unpackEntries(text: string): UnpackEntry[] | undefined {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return undefined;
  }
  const unpack = (doc as { unpack?: unknown } | null)?.unpack;
  if (!Array.isArray(unpack)) return undefined;
  const entries = unpack.filter(
    (e): e is UnpackEntry => typeof e === 'object' && e !== null && typeof (e as UnpackEntry).source === 'string',
  );
  return entries.length > 0 ? entries : undefined;
}

/**
 * How Calamares puts a ready store on the disk (an unpackfs entry after the layer's). docker's squashfs holds an ext4
 * image: unpacked, the image lands as a plain file. podman's squashfs is the image store itself, whose layers need
 * overlayfs' extended attributes, which unpackfs' rsync filters out (--filter=-x trusted.overlay.*): it is copied as
 * one file (sourcefs `file`, into the folder the layer made) and mounted from the disk as it would be from the medium.
 */
export function calamaresStoreEntry(engine: Engine): { sourcefs: 'squashfs' | 'file'; destination: string } {
  return { sourcefs: installedStoreCopy(engine) === 'unpack' ? 'squashfs' : 'file', destination: INSTALLED_STORE_DIR };
}

/**
 * The base's unpackfs.conf with the layer appended: same folder as the base's live root image (Calamares sees the
 * medium at /run/live/medium), same destination; then the ready store when there is one. Other keys and entries are kept.
 */
export function unpackfsWithLayer(baseText: string, layerIsoPath: string, store?: { isoPath: string; engine: Engine } | undefined): string {
  const doc = (parseYaml(baseText) ?? {}) as { unpack?: UnpackEntry[] };
  const entries = unpackEntries(baseText);
  if (!entries) throw new Error('internal: no unpack entries in the base unpackfs.conf');
  const root = entries.find((e) => e.sourcefs === 'squashfs') ?? entries[0];
  const medium = root?.source.replace(/\/live\/[^/]+$/, '') ?? '/run/live/medium';
  const source = posix.join(medium, layerIsoPath);
  if (entries.some((e) => e.source === source)) return baseText;
  const storeEntry = store ? [{ source: posix.join(medium, store.isoPath), ...calamaresStoreEntry(store.engine) }] : [];
  doc.unpack = [...entries, { source, sourcefs: 'squashfs', destination: root?.destination ?? '' }, ...storeEntry];
  return `# remaster: the base's images, then the layer with the engine, images and units${store ? ', then the ready image store' : ''}\n${stringify(doc)}`;
}
