// What a base ISO is: flavor, boot setup, root filesystem layers, checksum files. Refuses unusable input.
import { posix } from 'node:path';
import { UsageError } from '../errors.js';
import type { RunOptions } from '../exec/run.js';
import { readSuperblock, type SquashCompression } from '../rootfs/squashfs.js';
import { ISO_SECTOR, probeIso } from './probe.js';
import { type ElToritoImage, type IsoFile, type IsoReport, xorrisoReport } from './xorriso.js';

export type Flavor = 'debian-live' | 'ubuntu-casper';

export interface RootfsLayer {
  /** ISO path, e.g. /live/filesystem.squashfs */
  path: string;
  compression: SquashCompression;
  blockSize: number;
  /** Size of the squashfs file in the ISO. */
  bytes: number;
  lba: number;
}

export interface BootSetup {
  bios: boolean;
  uefi: boolean;
  /** The ISO doubles as a disk image (isohybrid MBR or a protective/hybrid partition table). */
  hybrid: boolean;
  gpt: boolean;
  /** An EFI system partition appended after the ISO filesystem (Ubuntu since 20.10). */
  appendedEfiPartition: boolean;
  elTorito: ElToritoImage[];
  systemArea: string;
}

export interface InspectResult {
  iso: string;
  bytes: number;
  volumeId: string;
  /** PVD modification date as xorriso's 16-digit GMT string: the volume "UUID" GRUB can search for. */
  volumeUuid?: string | undefined;
  flavor: Flavor;
  /** Directory holding the live root and kernels: /live or /casper. */
  liveDir: string;
  boot: BootSetup;
  /** Root filesystem squashfs files in the order the live system stacks them (bottom first). */
  rootfs: RootfsLayer[];
  kernels: string[];
  initrds: string[];
  /** live-boot's /live/filesystem.module when present. */
  moduleFile?: string;
  checksumFiles: string[];
  bootMenus: string[];
  files: IsoFile[];
}

const CHECKSUM_FILES = ['/md5sum.txt', '/sha256sum.txt', '/SHA256SUMS', '/MD5SUMS'];
const BOOT_MENUS = [
  '/isolinux/isolinux.cfg',
  '/isolinux/live.cfg',
  '/isolinux/menu.cfg',
  '/isolinux/txt.cfg',
  '/syslinux/syslinux.cfg',
  '/boot/grub/grub.cfg',
  '/boot/grub/loopback.cfg',
  '/EFI/boot/grub.cfg',
];

export async function inspectIso(iso: string, io: RunOptions = {}): Promise<InspectResult> {
  const probe = await probeIso(iso);
  switch (probe.kind) {
    case 'missing':
      throw new UsageError(`${iso}: no such file`, { hint: 'pass the path of the base ISO with --iso' });
    case 'directory':
      throw new UsageError(`${iso} is a directory, not an ISO image`, { hint: 'pass the path of an .iso file' });
    case 'not-iso':
      throw new UsageError(`${iso} is not an ISO 9660 image: found ${probe.found}`, {
        hint: 'pass an installer or live ISO (Debian live, Ubuntu desktop or server)',
      });
  }
  let report: IsoReport;
  try {
    report = await xorrisoReport(iso, io);
  } catch (e) {
    if (e instanceof Error && e.name === 'ToolError' && !/not installed/.test(e.message)) {
      throw new UsageError(`${iso} could not be read as an ISO image (truncated or damaged?)`, {
        hint: 'check the download against its published checksum',
        cause: e,
      });
    }
    throw e;
  }
  const layout = classify(report, iso);
  const rootfs: RootfsLayer[] = [];
  for (const f of layout.squashfs) {
    const sb = await readSuperblock(iso, f.lba * ISO_SECTOR);
    if (!sb) {
      throw new UsageError(`${iso}: ${f.path} is not a valid squashfs image`, {
        hint: 'the ISO is damaged or truncated; check it against its published checksum',
      });
    }
    if (f.lba * ISO_SECTOR + sb.bytesUsed > probe.bytes) {
      throw new UsageError(`${iso}: ${f.path} extends past the end of the file (truncated ISO)`, {
        hint: 'download the ISO again and check it against its published checksum',
      });
    }
    if (sb.bytesUsed > f.bytes) {
      throw new UsageError(`${iso}: ${f.path} is truncated: its superblock says ${sb.bytesUsed} bytes, the ISO holds ${f.bytes}`, {
        hint: 'the ISO was built from a damaged root filesystem; rebuild it or use another base',
      });
    }
    rootfs.push({ path: f.path, compression: sb.compression, blockSize: sb.blockSize, bytes: f.bytes, lba: f.lba });
  }
  const result: InspectResult = {
    iso,
    bytes: probe.bytes,
    volumeId: report.volumeId ?? probe.volumeId,
    volumeUuid: probe.modified,
    flavor: layout.flavor,
    liveDir: layout.liveDir,
    boot: bootSetup(report),
    rootfs,
    kernels: layout.kernels,
    initrds: layout.initrds,
    checksumFiles: CHECKSUM_FILES.filter((p) => report.files.some((f) => f.path === p)),
    bootMenus: BOOT_MENUS.filter((p) => report.files.some((f) => f.path === p)),
    files: report.files,
  };
  if (layout.moduleFile) result.moduleFile = layout.moduleFile;
  return result;
}

export function bootSetup(report: IsoReport): BootSetup {
  const imgs = report.elTorito.images;
  const efiPart = report.systemArea.mbr.find((p) => p.type === 0xef);
  const isoEnd = report.systemArea.isoSizeBlocks512;
  const appended = efiPart !== undefined && efiPart.path === undefined && isoEnd !== undefined && efiPart.start >= isoEnd - 1;
  return {
    bios: imgs.some((i) => i.platform === 'BIOS'),
    uefi: imgs.some((i) => i.platform === 'UEFI') || efiPart !== undefined,
    hybrid: report.systemArea.mbr.length > 0,
    gpt: report.systemArea.gpt,
    appendedEfiPartition: appended,
    elTorito: imgs,
    systemArea: report.systemArea.summary,
  };
}

interface Layout {
  flavor: Flavor;
  liveDir: string;
  squashfs: IsoFile[];
  kernels: string[];
  initrds: string[];
  moduleFile?: string;
}

/** Decide the flavor from the file tree alone; refuse what has no Linux live root. */
export function classify(report: IsoReport, iso = 'the ISO'): Layout {
  const files = report.files;
  const inDir = (dir: string) => files.filter((f) => posix.dirname(f.path) === dir);
  const squash = (dir: string) => inDir(dir).filter((f) => f.path.endsWith('.squashfs'));
  const kernelsIn = (dir: string) =>
    inDir(dir)
      .map((f) => f.path)
      .filter((p) => /\/(vmlinuz|vmlinux|linux)[^/]*$/.test(p) && !p.endsWith('.efi'));
  const initrdsIn = (dir: string) =>
    inDir(dir)
      .map((f) => f.path)
      .filter((p) => /\/initrd[^/]*$/.test(p));

  const live = squash('/live');
  if (live.length > 0) {
    const module = files.find((f) => f.path === '/live/filesystem.module');
    const layout: Layout = {
      flavor: 'debian-live',
      liveDir: '/live',
      squashfs: [...live].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
      kernels: kernelsIn('/live'),
      initrds: initrdsIn('/live'),
    };
    if (module) layout.moduleFile = module.path;
    return layout;
  }
  const casper = squash('/casper');
  if (casper.length > 0) {
    return {
      flavor: 'ubuntu-casper',
      liveDir: '/casper',
      squashfs: [...casper].sort((a, b) => a.path.split('.').length - b.path.split('.').length || a.path.localeCompare(b.path)),
      kernels: kernelsIn('/casper'),
      initrds: initrdsIn('/casper'),
    };
  }
  const has = (re: RegExp) => files.some((f) => re.test(f.path));
  if (has(/^\/install(\.[a-z0-9]+)?\/(vmlinuz|initrd\.gz)$/) || has(/^\/pool\/main\/d\/debian-installer/)) {
    throw new UsageError(
      `${iso} is a Debian installer (netinst/DVD) image: it has /install*/ and no live root filesystem (/live/*.squashfs)`,
      { hint: 'use a Debian live ISO (debian-live-*.iso) or an Ubuntu desktop/server ISO as the base' },
    );
  }
  const anySquash = files.filter((f) => f.path.endsWith('.squashfs')).map((f) => f.path);
  const found =
    anySquash.length > 0
      ? `squashfs files only at ${anySquash.slice(0, 3).join(', ')}`
      : `${files.length} files, none of them a root filesystem (no /live/*.squashfs, no /casper/*.squashfs)`;
  throw new UsageError(`${iso} has no Linux live root filesystem: found ${found}`, {
    hint: 'remaster supports Debian live (live-boot) and Ubuntu (casper) ISOs',
  });
}
