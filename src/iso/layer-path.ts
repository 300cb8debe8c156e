// Where the new root squashfs goes on the medium: named into the base's stack so the live system mounts it on top.

/** Layered casper: a dotted name extending the live chain (casper strips one component at a time). */
export function casperLayerIsoPath(topIsoPath: string): string {
  return topIsoPath.replace(/\.squashfs$/, '.remaster.squashfs');
}

/** A name live-boot (and casper without a layer path) sorts after every existing layer: ours is the top. */
export function layerIsoPath(liveDir: string, existing: readonly string[]): string {
  let name = 'remaster.squashfs';
  const names = existing.map((p) => p.slice(p.lastIndexOf('/') + 1));
  while (names.some((n) => n >= name)) name = `z${name}`;
  return `${liveDir}/${name}`;
}

/** Where the layer goes when only installed systems get it: outside the live folder, so the live system never stacks it. */
export const INSTALLED_ONLY_LAYER = '/remaster/installed-layer.squashfs';

/**
 * The ISO path of what the squash stage writes: a new top layer, or (rebuild mode) the base's root image itself;
 * for target installed, a layer the live system does not see (only the installers' routes read it).
 */
export function newLayerIsoPath(
  base: { liveDir: string; rootfs: readonly { path: string }[]; casper?: { layered: boolean } | undefined },
  mode: 'layer' | 'rebuild',
  target: 'live' | 'installed' | 'both' = 'both',
): string {
  const top = base.rootfs.at(-1);
  if (!top) throw new Error('internal: base has no root layer');
  if (mode === 'rebuild') return top.path;
  if (target === 'installed') return INSTALLED_ONLY_LAYER;
  return base.casper?.layered
    ? casperLayerIsoPath(top.path)
    : layerIsoPath(
        base.liveDir,
        base.rootfs.map((r) => r.path),
      );
}
