// The root being changed, as one object: where it lives in the work folder, how it is mounted for a chroot and
// unmounted again, how it is made afresh, whether a stage has changed it, and what identifies the base under it.
//
// Layer mode: the base's squashfs layers are loop-mounted read-only straight out of the ISO and an overlay puts an
// empty upper directory on top; the upper directory becomes the new squashfs layer. Rebuild mode: the base root
// is extracted into a tree that becomes the new root squashfs.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { MountStack } from './mounts.js';
import { unsquashfs } from './squashfs.js';

/** What the layer needs to know of the base: the ISO file and where in it its root squashfs layers are, bottom first. */
export interface BaseRoot {
  iso: string;
  volumeUuid?: string | undefined;
  /** offset: bytes from the start of the ISO file. */
  rootfs: readonly { path: string; offset: number; bytes: number }[];
}

export type LayerMode = 'layer' | 'rebuild';

/** Loop-mount options for a squashfs stored inside an ISO file. */
export function squashfsInIsoOptions(layer: { offset: number; bytes: number }): string[] {
  return ['loop', 'ro', `offset=${layer.offset}`, `sizelimit=${layer.bytes}`];
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

/** Bytes hashed at each end of a root layer for contentIdentity. */
const ENDS_BYTES = 1024 * 1024;

export class RootLayer {
  constructor(
    /** The work folder the layer's folders and mount points live in. */
    readonly dir: string,
    readonly base: BaseRoot,
    readonly mode: LayerMode,
    /** The build's mounts: whoever owns them unwinds them on every exit path. */
    readonly mounts: MountStack,
    readonly signal?: AbortSignal | undefined,
  ) {}

  /** The directory that becomes the new squashfs: the overlay's upper directory, or the extracted tree. */
  get root(): string {
    return this.mode === 'layer' ? this.upper : join(this.dir, 'layer', 'tree');
  }
  /** Where the whole root is mounted for commands run in it. */
  get merged(): string {
    return join(this.dir, 'mnt', 'root');
  }
  private get upper(): string {
    return join(this.dir, 'layer', 'upper');
  }
  private get overlayWork(): string {
    return join(this.dir, 'layer', 'work');
  }
  /** Present once a stage changed the layer since it was made: a kept layer is then no longer pristine. */
  private get touchedFile(): string {
    return join(this.dir, 'layer.touched');
  }

  /** The layer's folder exists (kept from an earlier run, or made in this one). */
  exists(): boolean {
    return existsSync(this.root);
  }

  /** No stage has changed the layer since it was made. */
  isPristine(): boolean {
    return !existsSync(this.touchedFile);
  }

  /** Record that a stage changes the layer (a rerun must then start from a new one to redo that stage). */
  async touch(by: string): Promise<void> {
    await writeFile(this.touchedFile, `${by}\n`);
  }

  get mounted(): boolean {
    return this.mounts.active.length > 0;
  }

  /** Take every mount down: nothing may change an overlay's upper directory while it is mounted. */
  async unmount(): Promise<void> {
    await this.mounts.unwind();
  }

  /** Make the layer afresh (unmounted): an empty upper directory, or the base root extracted. */
  async reset(onLine?: (line: string) => void): Promise<void> {
    await this.unmount();
    await rm(join(this.dir, 'layer'), { recursive: true, force: true });
    await rm(this.touchedFile, { force: true });
    if (this.mode === 'layer') {
      await mkdir(this.upper, { recursive: true });
      return;
    }
    const [layer, ...more] = this.base.rootfs;
    if (!layer || more.length > 0) {
      throw new UsageError(`rebuild mode needs a single root squashfs; ${this.base.iso} has ${this.base.rootfs.length}`, {
        hint: 'use --rootfs-mode layer',
      });
    }
    await mkdir(join(this.root, '..'), { recursive: true });
    onLine?.(`rebuild mode: extracting ${layer.path}`);
    await unsquashfs({ image: this.base.iso, dest: this.root, offset: layer.offset }, { signal: this.signal }, onLine);
  }

  /**
   * Loop-mount every base layer read-only; returns their mount points top first, as overlayfs' lowerdir lists them
   * (the live system puts the last squashfs, sorted or as listed in filesystem.module, on top). Read straight out of
   * the ISO through a loop device with an offset: no iso9660 mount (many kernels and containers lack it), no copy.
   */
  async mountBaseLayers(): Promise<string[]> {
    const lowers: string[] = [];
    for (const [i, layer] of this.base.rootfs.entries()) {
      const target = join(this.dir, 'mnt', `lower${i}`);
      await mkdir(target, { recursive: true });
      await this.mounts.mount({ source: this.base.iso, target, type: 'squashfs', options: squashfsInIsoOptions(layer) });
      lowers.unshift(target);
    }
    return lowers;
  }

  /** Mount the whole root at `merged` for commands run in it: the base layers under the upper directory, or the tree. */
  async mount(): Promise<void> {
    await mkdir(this.merged, { recursive: true });
    if (this.mode === 'rebuild') {
      await this.mounts.mount({ source: this.root, target: this.merged, bind: true });
      return;
    }
    const lowers = await this.mountBaseLayers();
    // The work directory is scratch: a killed run may have left some behind.
    await rm(this.overlayWork, { recursive: true, force: true });
    await mkdir(this.overlayWork, { recursive: true });
    await this.mounts.mount({
      source: 'remaster',
      target: this.merged,
      type: 'overlay',
      options: overlayOptions(lowers, this.upper, this.overlayWork),
    });
  }

  /** The base root alone, read-only: its single layer, or its layers stacked (what the new layer goes on top of). */
  async baseView(): Promise<string> {
    const lowers = await this.mountBaseLayers();
    if (lowers.length === 1 && lowers[0]) return lowers[0];
    const view = join(this.dir, 'mnt', 'base');
    await mkdir(view, { recursive: true });
    await this.mounts.mount({ source: 'remaster', target: view, type: 'overlay', options: ['ro', `lowerdir=${lowers.join(':')}`] });
    return view;
  }

  /**
   * The root as the live system will see it, read-only: the rebuilt tree, or (layer mode) the base layers with the
   * new layer stacked on top as one more lower layer (its whiteouts hide what they hide at boot).
   */
  async finalView(): Promise<string> {
    if (this.mode !== 'layer') return this.root;
    const lowers = [this.root, ...(await this.mountBaseLayers())];
    const view = join(this.dir, 'mnt', 'final');
    await mkdir(view, { recursive: true });
    await this.mounts.mount({ source: 'remaster', target: view, type: 'overlay', options: ['ro', `lowerdir=${lowers.join(':')}`] });
    return view;
  }

  /**
   * What the base's root is, independent of where the ISO file lives (copies of one base share the engine cache):
   * the volume's UUID (its creation time), and per root layer its path, size and sha256 of its first and last MiB
   * (the squashfs superblock, and the inode, directory, fragment and id tables that change with any content).
   */
  async contentIdentity(): Promise<unknown> {
    const fh = await open(this.base.iso, 'r');
    try {
      const layers = [];
      for (const l of this.base.rootfs) {
        const start = l.offset;
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
      return { volumeUuid: this.base.volumeUuid, layers };
    } finally {
      await fh.close();
    }
  }
}
