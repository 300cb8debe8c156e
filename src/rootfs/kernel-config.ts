// Which squashfs compressors the base's kernel can mount, read from its /boot/config-* files, and the compressor the
// squashfs files we add are written with. The base's own compressor (xz on Debian live and Ubuntu media) is often
// the slowest to write; a layer mostly holds already-compressed image archives, so a fast compressor the kernel
// reads costs little space and saves most of the build's time.
import { basename } from 'node:path';
import { run, type RunOptions } from '../exec/run.js';
import { type SquashCompression, squashfsCat, squashLevel } from './squashfs.js';

/** A kernel config of the base root, e.g. /boot/config-6.1.0-18-amd64, with its text. */
export interface KernelConfig {
  path: string;
  text: string;
}

/** The kernel options that let squashfs read each compressor (lzma has none: the kernel never read it). */
const SQUASHFS_OPTIONS: readonly (readonly [string, SquashCompression])[] = [
  ['CONFIG_SQUASHFS_ZSTD', 'zstd'],
  ['CONFIG_SQUASHFS_XZ', 'xz'],
  ['CONFIG_SQUASHFS_LZ4', 'lz4'],
  ['CONFIG_SQUASHFS_LZO', 'lzo'],
  ['CONFIG_SQUASHFS_ZLIB', 'gzip'],
];

/** The squashfs compressors a kernel config builds in (`CONFIG_SQUASHFS_<X>=y`). */
export function squashfsCompressors(configText: string): Set<SquashCompression> {
  const out = new Set<SquashCompression>();
  for (const [option, comp] of SQUASHFS_OPTIONS) {
    if (new RegExp(`^${option}=y\\s*$`, 'm').test(configText)) out.add(comp);
  }
  return out;
}

/** What a written layer is compressed with, at which level (zstd/gzip), and why (one line for the output and report). */
export interface LayerCompression {
  compression: SquashCompression;
  level?: number | undefined;
  reason: string;
}

/** Fastest first to write, of those worth choosing over the base's own (mksquashfs' lzo default is lzo1x_999: slow). */
const FAST: readonly SquashCompression[] = ['zstd', 'lz4', 'gzip', 'lzo'];

function kernels(configs: readonly KernelConfig[]): string {
  const names = configs.map((c) => basename(c.path).replace(/^config-/, ''));
  return `${names.length === 1 ? 'kernel' : 'kernels'} ${names.join(', ')}`;
}

/**
 * The compressor for a squashfs we add over the base (a layer, an install-source layer, the ready store): zstd at a
 * low level when every kernel config of the base root builds it in (the kernel that boots the ISO is one of them),
 * else the fastest of lz4, gzip and lzo they all read; the base's own only when none is, or when the root has no
 * kernel config to tell. `level` is the user's squashfsLevel (kept when given).
 */
export function chooseLayerCompression(base: SquashCompression, configs: readonly KernelConfig[], level?: number): LayerCompression {
  const at = (compression: SquashCompression, reason: string): LayerCompression => ({
    compression,
    level: squashLevel(compression, 'layer', level),
    reason,
  });
  if (configs.length === 0) return at(base, `no /boot/config-* in the base root: keeping the base's ${base}`);
  const each = configs.map((c) => ({ config: c, reads: squashfsCompressors(c.text) }));
  const common = FAST.filter((comp) => each.every((e) => e.reads.has(comp)));
  const lacking = (comp: SquashCompression) => each.filter((e) => !e.reads.has(comp)).map((e) => e.config);
  const pick = common[0];
  if (pick === 'zstd') return at('zstd', `${kernels(configs)} can mount zstd squashfs`);
  const noZstd = `${kernels(lacking('zstd'))} cannot mount zstd squashfs`;
  if (pick) return at(pick, `${noZstd}: ${pick} is the fastest ${configs.length === 1 ? 'it' : 'every kernel'} can`);
  const inCommon = configs.length === 1 ? '' : ' in common';
  return at(base, `${kernels(configs)} can mount none of ${FAST.join(', ')} squashfs${inCommon}: keeping the base's ${base}`);
}

/**
 * The kernel configs of a root made of squashfs layers inside one file (bottom first, as offsets into it): each
 * /boot/config-* the stacked root shows, the top layer's copy where several hold one (a whiteout in a higher layer
 * hides it). unsquashfs lists and reads them in place: no mount, no root needed.
 */
export async function readKernelConfigs(
  image: string,
  layers: readonly { offset: number }[],
  io: RunOptions = {},
): Promise<KernelConfig[]> {
  const seen = new Set<string>();
  const out: KernelConfig[] = [];
  for (const l of [...layers].reverse()) {
    const r = await run('unsquashfs', ['-o', String(l.offset), '-l', '-d', '', image, 'boot'], { ...io, okCodes: [0, 1, 2] });
    if (r.exitCode !== 0) continue;
    for (const name of bootConfigNames(r.stdout)) {
      if (seen.has(name)) continue;
      seen.add(name);
      // A whiteout (a character device) or a link out of the layer reads as nothing: the name is hidden, not a config.
      const text = await squashfsCat(image, l.offset, `boot/${name}`, io);
      if (text !== undefined && /^CONFIG_\w+=/m.test(text)) {
        out.push({ path: `/boot/${name}`, text });
      }
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** The config-* names directly under boot in `unsquashfs -l -d ''` output (lines like /boot/config-6.1.0-18-amd64). */
export function bootConfigNames(listing: string): string[] {
  const out: string[] = [];
  for (const line of listing.split('\n')) {
    const m = /^\/?boot\/(config-[^/\s]+)\s*$/.exec(line.trim());
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}
