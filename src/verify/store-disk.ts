// The store disk of a verification boot: a fresh sparse ext4 image the guest finds by the ISO's --store-device tag.
import { mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../exec/run.js';

/** Store disk size: sparse, so only what the guest writes takes space. */
const STORE_DISK_BYTES = 4 * 1024 ** 3;
/** How verify makes a disk the guest finds as storeDevice; undefined when it cannot (PARTLABEL=, /dev/...). */
export function storeDiskTag(device: string): { label: string } | { uuid: string } | undefined {
  const m = /^(LABEL|UUID)=(.+)$/.exec(device);
  if (!m?.[2]) return undefined;
  return m[1] === 'LABEL' ? { label: m[2] } : { uuid: m[2] };
}

/** A fresh sparse ext4 image the guest finds by the given tag. */
export async function makeStoreDisk(file: string, device: string, signal: AbortSignal | undefined): Promise<void> {
  const tag = storeDiskTag(device);
  if (!tag) throw new Error(`no disk can be made for ${device}`);
  await rm(file, { force: true });
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, '');
  await truncate(file, STORE_DISK_BYTES);
  const id = 'label' in tag ? ['-L', tag.label] : ['-U', tag.uuid];
  await run('mkfs.ext4', ['-q', '-F', ...id, file], {
    signal,
    hint: 'ext4 labels are at most 16 bytes; a UUID looks like 0f9e6c1e-3b8a-4d2c-9a51-7e3f2b1c4d5e',
  });
}
