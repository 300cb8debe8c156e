// Rootfs: open the base root for changes: overlay on the read-only squashfs (layer) or a full extract (rebuild).
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { run } from '../exec/run.js';
import { ISO_SECTOR } from '../iso/probe.js';
import type { BuildContext, Stage } from '../pipeline/context.js';
import { need } from '../pipeline/context.js';
import { unsquashfs } from '../rootfs/squashfs.js';

/**
 * Layer mode works on every base remaster accepts, because each stacks squashfs files: live-boot (every
 * /live/*.squashfs, sorted, or filesystem.module), casper without LAYERFS_PATH (every /casper/*.squashfs, sorted)
 * and layered casper (the dotted chain LAYERFS_PATH names, which our layer extends). Rebuild only on request.
 */
export function chooseMode(ctx: Pick<BuildContext, 'config'>): 'layer' | 'rebuild' {
  return ctx.config.rootfsMode === 'rebuild' ? 'rebuild' : 'layer';
}

/** Loop-mount options for a squashfs stored inside an ISO file. */
export function squashfsInIsoOptions(layer: { lba: number; bytes: number }): string[] {
  return ['loop', 'ro', `offset=${layer.lba * ISO_SECTOR}`, `sizelimit=${layer.bytes}`];
}

/** Overlay options that keep the upper directory self-contained: full copy-ups, no redirects or index. */
export function overlayOptions(lowers: readonly string[], upper: string, work: string): string[] {
  return [
    `lowerdir=${lowers.join(':')}`,
    `upperdir=${upper}`,
    `workdir=${work}`,
    'redirect_dir=off',
    'index=off',
    'metacopy=off',
    'xino=off',
  ];
}

export const rootfs: Stage = {
  title: 'Open the root filesystem',
  async run(ctx, task) {
    const base = need(ctx.facts.base, 'base ISO');
    const mode = chooseMode(ctx);
    ctx.facts.mode = mode;
    // The squashfs files are read straight out of the ISO through a loop device with an offset: no iso9660
    // mount (many kernels and containers lack it), no copy.
    await rm(ctx.ws.path('layer'), { recursive: true, force: true });
    if (mode === 'layer') {
      // live-boot puts the last squashfs (sorted, or as listed in filesystem.module) on top: lowerdir lists top first.
      const lowers: string[] = [];
      for (const [i, layer] of base.rootfs.entries()) {
        const target = ctx.ws.lowerMount(i);
        await mkdir(target, { recursive: true });
        await ctx.mounts.mount({ source: base.iso, target, type: 'squashfs', options: squashfsInIsoOptions(layer) });
        lowers.unshift(target);
      }
      await mkdir(ctx.ws.upper, { recursive: true });
      await mkdir(ctx.ws.overlayWork, { recursive: true });
      await mkdir(ctx.ws.merged, { recursive: true });
      await ctx.mounts.mount({
        source: 'remaster',
        target: ctx.ws.merged,
        type: 'overlay',
        options: overlayOptions(lowers, ctx.ws.upper, ctx.ws.overlayWork),
      });
      ctx.facts.layerRoot = ctx.ws.upper;
      task.output = `layer mode: ${base.rootfs.length} base layer(s) read-only, changes go to a new layer`;
    } else {
      if (base.rootfs.length !== 1) {
        throw new UsageError(`rebuild mode needs a single root squashfs; ${base.iso} has ${base.rootfs.length}`, {
          hint: 'use --rootfs-mode layer',
        });
      }
      const layer = base.rootfs[0];
      if (!layer) throw new Error('internal: no root layer');
      const tree = ctx.ws.path('layer', 'tree');
      await mkdir(join(tree, '..'), { recursive: true });
      task.output = `rebuild mode: extracting ${layer.path}`;
      await unsquashfs({ image: base.iso, dest: tree, offset: layer.lba * ISO_SECTOR }, { signal: ctx.signal }, (line) => {
        task.output = line;
      });
      await mkdir(ctx.ws.merged, { recursive: true });
      await ctx.mounts.mount({ source: tree, target: ctx.ws.merged, bind: true });
      ctx.facts.layerRoot = tree;
    }
    const arch = await run('chroot', [ctx.ws.merged, 'dpkg', '--print-architecture'], { signal: ctx.signal }).catch(() => undefined);
    ctx.facts.architecture = arch?.stdout.trim() || 'amd64';
  },
};
