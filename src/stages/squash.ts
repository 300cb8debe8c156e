// Squash: write the new layer (or the rebuilt root) as squashfs with the base's compression and block size.
import { rename, rm, stat } from 'node:fs/promises';
import { need, type Stage } from '../pipeline/context.js';
import { casperLayerIsoPath, newLayerIsoPath } from '../iso/layer-path.js';
import { mksquashfs, squashLevel } from '../rootfs/squashfs.js';
import { installsFromMedium } from '../iso/installers.js';
import { mib } from '../util/format.js';
import { baseIdentity } from '../pipeline/resume.js';

const LAYER_FILE = 'layer.squashfs';

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
      sourceDateEpoch: ctx.config.sourceDateEpoch,
      target: ctx.facts.target,
    }),
    save: (ctx) => {
      const l = need(ctx.facts.layer, 'new layer');
      return { facts: { isoPath: l.isoPath, bytes: l.bytes }, files: [LAYER_FILE] };
    },
    restore: (ctx, facts) => {
      const { isoPath, bytes } = facts as { isoPath: string; bytes: number };
      const file = ctx.ws.path(LAYER_FILE);
      ctx.facts.layer = { isoPath, file, bytes };
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
    const level = squashLevel(top.compression, layerRoot.mode, ctx.config.squashfsLevel);
    task.title = `Write the ${layerRoot.mode === 'layer' ? 'new layer' : 'rebuilt root'} (squashfs, ${top.compression}${level ? ` level ${level}` : ''}, ${top.blockSize / 1024} KiB blocks)`;
    await mksquashfs(
      {
        source: root,
        target: partial,
        compression: top.compression,
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
    ctx.facts.layer = { isoPath, file, bytes };
    ctx.facts.isoMap.set(isoPath, file);
    task.output = `${isoPath}: ${mib(bytes)}`;
  },
};
