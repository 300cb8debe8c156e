// Rootfs: open the base root for changes: overlay on the read-only squashfs (layer) or a full extract (rebuild).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { ISO_SECTOR } from '../iso/probe.js';
import type { BuildContext, Stage, StageTask } from '../pipeline/context.js';
import { need } from '../pipeline/context.js';
import { fileIdentity } from '../pipeline/resume.js';
import { runInRoot } from '../rootfs/chroot.js';
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

/** What identifies the base for resuming: the file itself and the root layers read from it. */
export async function baseIdentity(ctx: Pick<BuildContext, 'config' | 'facts'>): Promise<unknown> {
  const base = need(ctx.facts.base, 'base ISO');
  return { file: await fileIdentity(ctx.config.iso), volumeUuid: base.volumeUuid, rootfs: base.rootfs };
}

/** Bytes hashed at each end of a root layer for baseContentIdentity. */
const ENDS_BYTES = 1024 * 1024;

/**
 * What the base's root is, independent of where the ISO file lives (copies of one base share the engine cache):
 * the volume's UUID (its creation time), and per root layer its path, size and sha256 of its first and last MiB
 * (the squashfs superblock, and the inode, directory, fragment and id tables that change with any content).
 */
export async function baseContentIdentity(ctx: Pick<BuildContext, 'config' | 'facts'>): Promise<unknown> {
  const base = need(ctx.facts.base, 'base ISO');
  const fh = await open(ctx.config.iso, 'r');
  try {
    const layers = [];
    for (const l of base.rootfs) {
      const start = l.lba * ISO_SECTOR;
      const hash = createHash('sha256');
      const parts: [number, number][] =
        l.bytes > 2 * ENDS_BYTES
          ? [
              [start, ENDS_BYTES],
              [start + l.bytes - ENDS_BYTES, ENDS_BYTES],
            ]
          : [[start, l.bytes]];
      for (const [at, length] of parts) {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await fh.read(buf, 0, length, at);
        hash.update(buf.subarray(0, bytesRead));
      }
      layers.push({ path: l.path, bytes: l.bytes, ends: hash.digest('hex') });
    }
    return { volumeUuid: base.volumeUuid, layers };
  } finally {
    await fh.close();
  }
}

/**
 * Make the layer afresh: an empty upper directory (layer) or the base root extracted (rebuild). The mounts
 * must be down: nothing may change an overlay's upper directory while it is mounted.
 */
export async function resetLayer(ctx: BuildContext, mode: 'layer' | 'rebuild', task?: StageTask): Promise<void> {
  const base = need(ctx.facts.base, 'base ISO');
  await rm(ctx.ws.path('layer'), { recursive: true, force: true });
  await rm(ctx.ws.layerTouched, { force: true });
  if (mode === 'layer') {
    await mkdir(ctx.ws.upper, { recursive: true });
    return;
  }
  if (base.rootfs.length !== 1) {
    throw new UsageError(`rebuild mode needs a single root squashfs; ${base.iso} has ${base.rootfs.length}`, {
      hint: 'use --rootfs-mode layer',
    });
  }
  const layer = base.rootfs[0];
  if (!layer) throw new Error('internal: no root layer');
  const tree = ctx.ws.path('layer', 'tree');
  await mkdir(join(tree, '..'), { recursive: true });
  if (task) task.output = `rebuild mode: extracting ${layer.path}`;
  await unsquashfs({ image: base.iso, dest: tree, offset: layer.lba * ISO_SECTOR }, { signal: ctx.signal }, (line) => {
    if (task) task.output = line;
  });
}

/**
 * Loop-mount every base layer read-only; returns their mount points top first, as overlayfs' lowerdir lists them
 * (the live system puts the last squashfs, sorted or as listed in filesystem.module, on top).
 */
export async function mountBaseLayers(ctx: BuildContext): Promise<string[]> {
  const base = need(ctx.facts.base, 'base ISO');
  // Read straight out of the ISO through a loop device with an offset: no iso9660 mount (many kernels and
  // containers lack it), no copy.
  const lowers: string[] = [];
  for (const [i, layer] of base.rootfs.entries()) {
    const target = ctx.ws.lowerMount(i);
    await mkdir(target, { recursive: true });
    await ctx.mounts.mount({ source: base.iso, target, type: 'squashfs', options: squashfsInIsoOptions(layer) });
    lowers.unshift(target);
  }
  return lowers;
}

/** Mount the root for a chroot: the base layers under the upper directory (layer), or the tree bound (rebuild). */
export async function mountRoot(ctx: BuildContext, mode: 'layer' | 'rebuild'): Promise<void> {
  await mkdir(ctx.ws.merged, { recursive: true });
  if (mode === 'rebuild') {
    await ctx.mounts.mount({ source: ctx.ws.path('layer', 'tree'), target: ctx.ws.merged, bind: true });
    return;
  }
  const lowers = await mountBaseLayers(ctx);
  // The work directory is scratch: a killed run may have left some behind.
  await rm(ctx.ws.overlayWork, { recursive: true, force: true });
  await mkdir(ctx.ws.overlayWork, { recursive: true });
  await ctx.mounts.mount({
    source: 'remaster',
    target: ctx.ws.merged,
    type: 'overlay',
    options: overlayOptions(lowers, ctx.ws.upper, ctx.ws.overlayWork),
  });
}

export const rootfs: Stage = {
  title: 'Open the root filesystem',
  async run(ctx, task) {
    const base = need(ctx.facts.base, 'base ISO');
    const mode = chooseMode(ctx);
    ctx.facts.mode = mode;
    const layerRoot = mode === 'layer' ? ctx.ws.upper : ctx.ws.path('layer', 'tree');
    // The layer outlives a run (mounts never do): an earlier run's on the same base is kept, unmounted (even a
    // mount would mark its upper directory), and later stages decide by their own records what is still right.
    const resume = ctx.resume;
    const stamp = resume?.stamp('rootfs', { base: await baseIdentity(ctx), mode }, []) ?? '';
    const rec = resume && existsSync(layerRoot) ? await resume.reusable('rootfs', stamp) : undefined;
    const recorded = (rec?.facts as { architecture?: string } | undefined)?.architecture;
    ctx.facts.layerRoot = layerRoot;
    if (recorded) {
      ctx.facts.architecture = recorded;
      ctx.facts.freshLayer = !existsSync(ctx.ws.layerTouched);
      task.output = `${mode} mode: the layer of the last run is kept (${recorded})`;
      return;
    }
    await resume?.begin('rootfs');
    await resetLayer(ctx, mode, task);
    ctx.facts.freshLayer = true;
    await mountRoot(ctx, mode);
    const arch = await runInRoot(ctx.ws.merged, ['dpkg', '--print-architecture'], { signal: ctx.signal }).catch(() => undefined);
    ctx.facts.architecture = arch?.stdout.trim() || 'amd64';
    await resume?.done('rootfs', stamp, { architecture: ctx.facts.architecture });
    task.output =
      mode === 'layer'
        ? `layer mode: ${base.rootfs.length} base layer(s) read-only, changes go to a new layer`
        : `rebuild mode: the whole root is extracted and rebuilt`;
  },
};
