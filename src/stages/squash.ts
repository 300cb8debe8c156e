// Squash: write the new layer as squashfs with the compressor the base's kernel mounts fastest (inspect stage chose it)
// and the base's block size, or the rebuilt root with the base's own compression and block size.
import { rename, rm, stat } from 'node:fs/promises';
import { need, type Stage } from '../pipeline/context.js';
import { casperLayerIsoPath, newLayerIsoPath } from '../iso/layer-path.js';
import type { LayerCompression } from '../rootfs/kernel-config.js';
import type { LayerMode } from '../rootfs/layer.js';
import { mksquashfs, type SquashCompression, squashLevel } from '../rootfs/squashfs.js';
import { installsFromMedium } from '../iso/installers.js';
import { mib } from '../util/format.js';
import { baseIdentity } from '../pipeline/resume.js';

const LAYER_FILE = 'layer.squashfs';

/**
 * How the squashfs this stage writes is compressed: a layer as the inspect stage chose from the base's kernel
 * configs, a rebuilt root as the base's own (it replaces the base's root, which the distribution built that way).
 */
export function squashCompression(
  mode: LayerMode,
  base: SquashCompression,
  chosen: LayerCompression | undefined,
  level: number | undefined,
): LayerCompression {
  if (mode === 'layer' && chosen) return chosen;
  return {
    compression: base,
    level: squashLevel(base, mode, level),
    reason: mode === 'rebuild' ? `rebuild mode: the rebuilt root keeps the base's ${base}` : `keeping the base's ${base}`,
  };
}

export const squash: Stage = {
  title: 'Write the root filesystem layer (squashfs)',
  skip: (ctx) =>
    ctx.facts.base?.pool
      ? 'a netinst or DVD base has no live root: the payload went onto the medium'
      : ctx.facts.base && ctx.facts.target === 'installed' && installsFromMedium(ctx.facts.base, ctx.facts.target)
        ? 'target installed through Ubiquity: the payload went onto the medium, the live root is unchanged'
        : undefined,
  resume: {
    key: 'squash',
    after: ['rootfs', 'engine', 'payload'],
    inputs: async (ctx) => ({
      base: await baseIdentity(ctx),
      mode: ctx.facts.root?.mode,
      level: ctx.config.squashfsLevel,
      // The compressor follows the base's kernel: another base (or a changed choice) writes the layer anew.
      compression: ctx.facts.layerCompression,
      sourceDateEpoch: ctx.config.sourceDateEpoch,
      target: ctx.facts.target,
    }),
    save: (ctx) => {
      const l = need(ctx.facts.layer, 'new layer');
      return { facts: { isoPath: l.isoPath, bytes: l.bytes, compression: l.compression }, files: [LAYER_FILE] };
    },
    restore: (ctx, facts) => {
      const { isoPath, bytes, compression } = facts as { isoPath: string; bytes: number; compression: LayerCompression };
      const file = ctx.ws.path(LAYER_FILE);
      ctx.facts.layer = { isoPath, file, bytes, compression };
      ctx.facts.isoMap.set(isoPath, file);
    },
  },
  async run(ctx, task) {
    const base = need(ctx.facts.base, 'base ISO');
    const layerRoot = need(ctx.facts.root, 'root layer');
    const root = layerRoot.root;
    const chain = ctx.facts.chain ?? base.rootfs;
    const top = chain.at(-1);
    if (!top) throw new Error('internal: base has no root layer');
    const file = ctx.ws.path(LAYER_FILE);
    // Written beside and renamed when complete: a killed run never leaves half a layer under the real name.
    const partial = `${file}.partial`;
    await rm(file, { force: true });
    await rm(partial, { force: true });
    const comp = squashCompression(layerRoot.mode, top.compression, ctx.facts.layerCompression, ctx.config.squashfsLevel);
    const level = comp.level;
    const how = `${comp.compression}${level ? ` level ${level}` : ''}`;
    task.title = `Write the ${layerRoot.mode === 'layer' ? 'new layer' : 'rebuilt root'} (squashfs, ${how}, ${top.blockSize / 1024} KiB blocks)`;
    task.output = `${how}: ${comp.reason}`;
    await mksquashfs(
      {
        source: root,
        target: partial,
        compression: comp.compression,
        blockSize: top.blockSize,
        level,
        sourceDateEpoch: ctx.config.sourceDateEpoch,
      },
      { signal: ctx.signal },
      (line) => {
        task.output = line;
      },
    );
    await rename(partial, file);
    const bytes = (await stat(file)).size;
    // Target installed on a subiquity base: the layer sits on the default install source's chain, named into it.
    const isoPath = chain !== base.rootfs ? casperLayerIsoPath(top.path) : newLayerIsoPath(base, layerRoot.mode, ctx.facts.target);
    ctx.facts.layer = { isoPath, file, bytes, compression: comp };
    ctx.facts.isoMap.set(isoPath, file);
    task.output = `${isoPath}: ${mib(bytes)}, ${how} (${comp.reason})`;
  },
};
