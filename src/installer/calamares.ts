// Calamares (Debian's live desktops) installs by unpacking the images its unpackfs.conf lists, in order, with rsync.
// The new layer carries an unpackfs.conf that lists the base's images and then the layer itself.
import { posix } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';

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
 * The base's unpackfs.conf with the layer appended: same folder as the base's live root image (Calamares sees the
 * medium at /run/live/medium), same destination. Other keys and entries are kept.
 */
export function unpackfsWithLayer(baseText: string, layerIsoPath: string): string {
  const doc = (parseYaml(baseText) ?? {}) as { unpack?: UnpackEntry[] };
  const entries = unpackEntries(baseText);
  if (!entries) throw new Error('internal: no unpack entries in the base unpackfs.conf');
  const root = entries.find((e) => e.sourcefs === 'squashfs') ?? entries[0];
  const medium = root?.source.replace(/\/live\/[^/]+$/, '') ?? '/run/live/medium';
  const source = posix.join(medium, layerIsoPath);
  if (entries.some((e) => e.source === source)) return baseText;
  doc.unpack = [...entries, { source, sourcefs: 'squashfs', destination: root?.destination ?? '' }];
  return `# remaster: the base's images, then the layer with the engine, images and units\n${stringify(doc)}`;
}
