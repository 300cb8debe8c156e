// A chain of squashfs layers mounted as one read-only root, the way casper and curtin stack them: each member loop-
// mounted read-only (straight out of an ISO file at an offset, or a host file), the last on top of one overlay.
import { mkdir, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ISO_SECTOR } from '../iso/probe.js';
import type { IsoFile } from '../iso/xorriso.js';
import type { MountStack } from './mounts.js';
import { squashfsInIsoOptions } from './layer.js';

/** One squashfs of a chain: inside an ISO file (at a byte offset) or a file of its own. */
export type ChainMember = { iso: string; offset: number; bytes: number } | { file: string };

/** The member at isoPath of an ISO whose files are listed, or undefined when the ISO lacks it. */
export function isoMember(iso: string, files: readonly IsoFile[], isoPath: string): ChainMember | undefined {
  const f = files.find((x) => x.path === isoPath);
  return f ? { iso, offset: f.lba * ISO_SECTOR, bytes: f.bytes } : undefined;
}

/** Mount members (bottom first) under dir and stack them read-only; returns the merged root. */
export async function mountChain(mounts: MountStack, dir: string, members: readonly ChainMember[]): Promise<string> {
  const lowers: string[] = [];
  for (const [i, m] of members.entries()) {
    const target = join(dir, `m${i}`);
    await mkdir(target, { recursive: true });
    await mounts.mount(
      'file' in m
        ? { source: m.file, target, type: 'squashfs', options: ['loop', 'ro'] }
        : { source: m.iso, target, type: 'squashfs', options: squashfsInIsoOptions(m) },
    );
    lowers.unshift(target);
  }
  if (lowers.length === 1 && lowers[0]) return lowers[0];
  const view = join(dir, 'root');
  await mkdir(view, { recursive: true });
  await mounts.mount({ source: 'remaster-chain', target: view, type: 'overlay', options: ['ro', `lowerdir=${lowers.join(':')}`] });
  return view;
}

/** Every entry of a tree that is not a directory (files, links, whiteouts), as paths relative to it. */
export async function nonDirEntries(root: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!e.isDirectory()) out.add(relative(root, join(e.parentPath, e.name)));
  }
  return out;
}
