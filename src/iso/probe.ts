// Cheap checks on a file before any tool runs: is it an ISO 9660 image at all?
import { open, stat } from 'node:fs/promises';

export const ISO_SECTOR = 2048;

export type IsoProbe =
  | { kind: 'iso'; bytes: number; volumeId: string; modified?: string | undefined }
  | { kind: 'missing' }
  | { kind: 'directory' }
  | { kind: 'not-iso'; bytes: number; found: string };

/** Look at the primary volume descriptor (sector 16): 0x01 'CD001'. */
export async function probeIso(path: string): Promise<IsoProbe> {
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) return { kind: 'directory' };
    size = st.size;
  } catch {
    return { kind: 'missing' };
  }
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    await fh.read(head, 0, 512, 0);
    const pvd = Buffer.alloc(ISO_SECTOR);
    const { bytesRead } = await fh.read(pvd, 0, ISO_SECTOR, 16 * ISO_SECTOR);
    if (bytesRead >= 6 && pvd.toString('latin1', 1, 6) === 'CD001') {
      return { kind: 'iso', bytes: size, volumeId: pvd.toString('latin1', 40, 72).trim(), modified: pvdDate(pvd, 830) };
    }
    return { kind: 'not-iso', bytes: size, found: describeBytes(head, size) };
  } finally {
    await fh.close();
  }
}

/** A few words on what a non-ISO file looks like, for the refusal message. */
export function describeBytes(head: Buffer, size: number): string {
  if (size === 0) return 'an empty file';
  if (size < 17 * ISO_SECTOR) return `a ${size}-byte file, too small to hold an ISO 9660 volume descriptor`;
  const magic: [string, string][] = [
    ['hsqs', 'a squashfs image'],
    ['\x1f\x8b', 'gzip data'],
    ['\x28\xb5\x2f\xfd', 'zstd data'],
    ['\xfd7zXZ', 'xz data'],
    ['PK\x03\x04', 'a zip archive'],
    ['QFI\xfb', 'a qcow2 disk image'],
  ];
  const s = head.toString('latin1', 0, 8);
  for (const [m, what] of magic) if (s.startsWith(m)) return what;
  if (head.toString('latin1', 257, 262) === 'ustar') return 'a tar archive';
  if (head[510] === 0x55 && head[511] === 0xaa) return 'a disk image with a partition table but no ISO 9660 filesystem';
  return 'no ISO 9660 signature (CD001) at sector 16';
}

/**
 * A PVD date (YYYYMMDDhhmmsscc + a GMT offset byte) as xorriso's 16-digit GMT timestring, or undefined when
 * unset. GRUB's `search --fs-uuid` looks for exactly this string, so a remastered ISO keeps its base's.
 */
export function pvdDate(pvd: Buffer, offset: number): string | undefined {
  const digits = pvd.toString('latin1', offset, offset + 16);
  if (!/^\d{16}$/.test(digits) || /^0+$/.test(digits)) return undefined;
  const tzQuarters = pvd.readInt8(offset + 16);
  if (tzQuarters === 0) return digits;
  const t = Date.UTC(
    +digits.slice(0, 4),
    +digits.slice(4, 6) - 1,
    +digits.slice(6, 8),
    +digits.slice(8, 10),
    +digits.slice(10, 12),
    +digits.slice(12, 14),
  );
  const d = new Date(t - tzQuarters * 15 * 60 * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}${digits.slice(14)}`;
}
