// Breaking a copy of a good ISO the way real ISOs get broken: real xorriso and squashfs-tools, test set-up only.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readIsoTexts } from '../../src/iso/xorriso.js';

/** Run a tool for test set-up; throws with its stderr when it fails. */
export function tool(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return `${r.stdout}${r.stderr}`;
}

export function extract(iso: string, isoPath: string, to: string): void {
  tool('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', isoPath, to]);
}

/** One text file of an ISO (read with xorriso, no mount). */
export async function isoText(iso: string, isoPath: string): Promise<string> {
  return (await readIsoTexts(iso, [isoPath])).get(isoPath) ?? '';
}

/** A copy of iso with one file replaced; every boot record is replayed unchanged. */
export function mapOver(iso: string, file: string, isoPath: string, out: string): void {
  tool('xorriso', ['-indev', iso, '-outdev', out, '-map', file, isoPath, '-boot_image', 'any', 'replay']);
}

/** Unpack remaster's layer of iso, let change() edit the tree, pack it again (zstd, 1 MiB blocks) into out. */
export function editLayer(iso: string, work: string, out: string, change: (tree: string) => void): void {
  const layer = `${work}/remaster.squashfs`;
  const tree = `${work}/remaster-tree`;
  extract(iso, '/live/remaster.squashfs', layer);
  tool('unsquashfs', ['-no-progress', '-d', tree, layer]);
  rmSync(layer);
  change(tree);
  // Same compression and block size as remaster writes (the level only changes how long this takes).
  tool('mksquashfs', [tree, layer, '-comp', 'zstd', '-Xcompression-level', '3', '-b', '1M', '-noappend', '-no-progress', '-quiet']);
  rmSync(tree, { recursive: true, force: true });
  mapOver(iso, layer, '/live/remaster.squashfs', out);
  rmSync(layer, { force: true });
}
