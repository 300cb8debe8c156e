// What a base ISO is: flavor, boot setup, root filesystem layers, checksum files. Refuses unusable input.
import { posix } from 'node:path';
import { UsageError } from '../errors.js';
import type { RunOptions } from '../exec/run.js';
import { UNPACKFS_CONF, unpackEntries } from '../installer/calamares.js';
import { readSuperblock, type SquashCompression, squashfsCat } from '../rootfs/squashfs.js';
import { INSTALL_SOURCES, type InstallSource, type InstallSourcesDoc, parseInstallSources } from './install-sources.js';
import { detectInstallers, diInitrds, type InstallerInfo, type TargetReach, targetReach } from './installers.js';
import { type InitrdContents, type InitrdPart, layerChain, parseDefaultLayer, readInitrd } from './initrd.js';
import { ISO_SECTOR, probeIso } from './probe.js';
import { type ElToritoImage, type IsoFile, type IsoReport, readIsoTexts, xorrisoReport } from './xorriso.js';

/** debian-installer: a netinst or DVD image, d-i installing with debootstrap from the medium's own package pool. */
export type Flavor = 'debian-live' | 'ubuntu-casper' | 'debian-installer';

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

export interface InitrdInfo {
  path: string;
  parts: InitrdPart[];
  /** Which live boot scripts the initrd carries (scripts/casper or scripts/live). */
  bootScripts: 'casper' | 'live-boot' | 'none';
}

export interface CasperInfo {
  /** Layered (24.04 style: the chain named by LAYERFS_PATH) or single (20.04/22.04: every /casper/*.squashfs). */
  layered: boolean;
  /**
   * The top of the live chain, e.g. minimal.standard.live.squashfs, and where it was read: the boot menus' kernel
   * argument wins over the initrd's default, as in casper.
   */
  layerfsPath?: string | undefined;
  layerfsSource?: 'initrd' | 'menu' | undefined;
  /** LAYERFS_PATH from the initrd's conf/conf.d/default-layer.conf: what entries without layerfs-path= boot. */
  initrdLayerfsPath?: string | undefined;
  /** subiquity's install sources (casper/install-sources.yaml): what an installation copies (empty when unreadable). */
  installSources: InstallSource[];
  /** Distinct layerfs-path= values written in boot menus. */
  menuLayerPaths: string[];
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
  initrd?: InitrdInfo | undefined;
  casper?: CasperInfo | undefined;
  /** The installers the medium carries and whether remaster reaches what they install. */
  installers: InstallerInfo[];
  /** A netinst or DVD image: the package pool d-i installs the base system from. */
  pool?: PackagePool | undefined;
  /** Which build targets this base allows (live: the live session; installed: systems installed from it). */
  targets: TargetReach;
  files: IsoFile[];
}

/** The package pool of a Debian installer medium: its suite (dists/<codename>) and Release file. */
export interface PackagePool {
  suite: string;
  release: string;
  /** Release's Version (13.2), when it says. */
  version?: string | undefined;
}

/** The EFI system partition type GUID as xorriso prints it (mixed-endian bytes). */
const GPT_ESP = '28732ac11ff8d211ba4b00a0c93ec93b';
const DEFAULT_LAYER_CONF = 'conf/conf.d/default-layer.conf';
const UDEB_INCLUDE = '/.disk/udeb_include';

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
  let layout = classify(report, iso);
  const menus = BOOT_MENUS.filter((p) => report.files.some((f) => f.path === p));
  const initrdFile = layout.initrds.map((p) => report.files.find((f) => f.path === p)).find((f) => f !== undefined);
  let initrd: InitrdContents | undefined;
  if (initrdFile) {
    try {
      initrd = await readInitrd(iso, initrdFile.lba * ISO_SECTOR, initrdFile.bytes, (n) => n === DEFAULT_LAYER_CONF);
    } catch (e) {
      throw new UsageError(`${iso}: unknown layout: its initrd ${initrdFile.path} cannot be read (${(e as Error).message})`, {
        hint: 'remaster supports Debian live (live-boot) and Ubuntu (casper) ISOs with standard initrds',
      });
    }
  }
  const bootScripts = !initrd
    ? 'none'
    : initrd.names.has('scripts/casper')
      ? 'casper'
      : initrd.names.has('scripts/live')
        ? 'live-boot'
        : 'none';
  const wantScripts = layout.flavor === 'ubuntu-casper' ? 'casper' : 'live-boot';
  if (initrdFile && bootScripts !== wantScripts) {
    throw new UsageError(
      `${iso}: unknown layout: root filesystem under ${layout.liveDir} but the initrd ${initrdFile.path} has ${bootScripts === 'none' ? 'no live boot scripts' : `${bootScripts} scripts`}`,
      { hint: `a ${layout.flavor} ISO boots with ${wantScripts}; remaster cannot tell how this one stacks its root` },
    );
  }
  // The small files that decide the stack, read in one xorriso run.
  const isCasper = layout.flavor === 'ubuntu-casper';
  const wanted = [
    ...(isCasper ? menus : []),
    ...(isCasper && report.files.some((f) => f.path === INSTALL_SOURCES) ? [INSTALL_SOURCES] : []),
    ...(layout.moduleFile ? [layout.moduleFile] : []),
    ...(report.files.some((f) => f.path === UDEB_INCLUDE) ? [UDEB_INCLUDE] : []),
    ...(layout.flavor === 'debian-installer' ? poolReleases(report.files) : []),
  ];
  const texts = await readIsoTexts(iso, wanted, io);
  let casper: CasperInfo | undefined;
  if (isCasper) {
    casper = casperInfo(initrd, new Map(menus.map((m) => [m, texts.get(m) ?? ''])), texts.get(INSTALL_SOURCES));
    layout = { ...layout, squashfs: casperStack(report, casper, iso) };
  }
  if (layout.moduleFile) {
    layout = { ...layout, squashfs: moduleStack(report, texts.get(layout.moduleFile) ?? '', layout.moduleFile, iso) };
  }
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
  // Calamares' settings as the live root has them: the top layer that holds the file wins.
  let unpackfs: string | undefined;
  for (const l of [...rootfs].reverse()) {
    unpackfs = await squashfsCat(iso, l.lba * ISO_SECTOR, UNPACKFS_CONF, io);
    if (unpackfs !== undefined) break;
  }
  const pool = layout.flavor === 'debian-installer' ? packagePool(iso, poolReleases(report.files), texts) : undefined;
  const sourcesText = texts.get(INSTALL_SOURCES);
  const installers = detectInstallers({
    files: report.files,
    udebInclude: texts.get(UDEB_INCLUDE),
    unpackfs: unpackfs !== undefined && unpackEntries(unpackfs) ? unpackfs : undefined,
    liveRoot: rootfs.length > 0,
    installSources: sourcesText === undefined ? undefined : parseInstallSources(sourcesText),
    menuSeeds: isCasper ? menuSeeds(new Map(menus.map((m) => [m, texts.get(m) ?? '']))) : [],
    pool: pool !== undefined,
  });
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
    bootMenus: menus,
    initrd: initrdFile && initrd ? { path: initrdFile.path, parts: initrd.parts, bootScripts } : undefined,
    casper,
    installers,
    pool,
    targets: targetReach(rootfs.length > 0, installers),
    files: report.files,
  };
  if (layout.moduleFile) result.moduleFile = layout.moduleFile;
  return result;
}

export function bootSetup(report: IsoReport): BootSetup {
  const imgs = report.elTorito.images;
  const efiPart = report.systemArea.mbr.find((p) => p.type === 0xef);
  const gptEfi = report.systemArea.gptPartitions?.find((p) => p.type === GPT_ESP);
  const isoEnd = report.systemArea.isoSizeBlocks512;
  // Appended: an EFI system partition that is no file of the ISO tree (xorriso -append_partition), in the MBR
  // (Debian style, after the ISO) or in the GPT (Ubuntu since 20.10: -appended_part_as_gpt).
  const appended =
    (efiPart !== undefined && efiPart.path === undefined && isoEnd !== undefined && efiPart.start >= isoEnd - 1) ||
    (gptEfi !== undefined && gptEfi.path === undefined);
  return {
    bios: imgs.some((i) => i.platform === 'BIOS'),
    uefi: imgs.some((i) => i.platform === 'UEFI') || efiPart !== undefined || gptEfi !== undefined,
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
    const releases = poolReleases(files);
    if (diInitrds(files).length === 0 || releases.length === 0 || !has(/^\/\.disk\/base_installable$/)) {
      throw new UsageError(
        `${iso} is a Debian installer image without what d-i installs from: ${diInitrds(files).length === 0 ? 'no /install*/vmlinuz with its initrd.gz' : releases.length === 0 ? 'no /dists/<suite>/Release' : 'no /.disk/base_installable (the pool cannot install a base system)'}`,
        { hint: 'use a complete Debian netinst or DVD image, or a Debian live ISO (debian-live-*.iso)' },
      );
    }
    return { flavor: 'debian-installer', liveDir: '/install', squashfs: [], kernels: [], initrds: [] };
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

/** /dists/<suite>/Release files of a medium's package pool (the suite's own folder; aliases are symlinks xorriso skips). */
export function poolReleases(files: readonly IsoFile[]): string[] {
  return files
    .map((f) => f.path)
    .filter((p) => /^\/dists\/[^/]+\/Release$/.test(p))
    .sort();
}

/** The pool d-i installs from: the Release whose codename names its own folder (stable/testing are aliases). */
function packagePool(iso: string, releases: readonly string[], texts: ReadonlyMap<string, string>): PackagePool {
  const parsed = releases.map((release) => {
    const text = texts.get(release) ?? '';
    const field = (k: string) => new RegExp(`^${k}:\\s*(\\S+)`, 'm').exec(text)?.[1];
    return { release, codename: field('Codename'), version: field('Version'), dir: release.split('/')[2] ?? '' };
  });
  const own = parsed.find((r) => r.codename !== undefined && r.codename === r.dir) ?? parsed.find((r) => r.codename !== undefined);
  if (!own?.codename) {
    throw new UsageError(`${iso}: unknown layout: ${releases.join(', ')} name no Codename`, {
      hint: 'the ISO is incomplete or damaged; check it against its published checksum',
    });
  }
  return { suite: own.codename, release: own.release, version: own.version };
}

function sourcesOf(doc: InstallSourcesDoc): InstallSource[] {
  return doc.ok ? doc.sources : [];
}

/** The preseed files boot entries load (file=/cdrom/preseed/ubuntu.seed), as ISO paths. */
export function menuSeeds(menus: ReadonlyMap<string, string>): string[] {
  const found = new Set<string>();
  for (const text of menus.values()) for (const m of text.matchAll(/(?:^|\s)file=\/cdrom(\/\S+)/gm)) if (m[1]) found.add(m[1]);
  return [...found].sort();
}

/** Values of layerfs-path= on kernel command lines in boot menus. */
export function menuLayerPaths(menus: ReadonlyMap<string, string>): string[] {
  const found = new Set<string>();
  for (const text of menus.values()) for (const m of text.matchAll(/(?:^|\s)layerfs-path=(\S+)/gm)) if (m[1]) found.add(m[1]);
  return [...found];
}

function casperInfo(
  initrd: InitrdContents | undefined,
  menus: ReadonlyMap<string, string>,
  installSources: string | undefined,
): CasperInfo {
  const fromInitrd = parseDefaultLayer(initrd?.files.get(DEFAULT_LAYER_CONF) ?? '');
  const inMenus = menuLayerPaths(menus);
  const layerfsPath = inMenus[0] ?? fromInitrd;
  return {
    layered: layerfsPath !== undefined,
    layerfsPath,
    layerfsSource: inMenus[0] ? 'menu' : fromInitrd ? 'initrd' : undefined,
    initrdLayerfsPath: fromInitrd,
    installSources: installSources === undefined ? [] : sourcesOf(parseInstallSources(installSources)),
    menuLayerPaths: inMenus,
  };
}

/** live-boot with filesystem.module mounts the images it lists, in that order (first at the bottom), and no others. */
export function moduleStack(report: IsoReport, text: string, moduleFile: string, iso = 'the ISO'): IsoFile[] {
  const dir = posix.dirname(moduleFile);
  const names = text.split(/\s+/).filter((n) => n.endsWith('.squashfs'));
  if (names.length === 0) {
    throw new UsageError(`${iso}: unknown layout: ${moduleFile} lists no squashfs image`, { hint: 'the ISO is incomplete or damaged' });
  }
  return names.map((n) => {
    const f = report.files.find((x) => x.path === `${dir}/${n}`);
    if (!f)
      throw new UsageError(`${iso}: unknown layout: ${moduleFile} lists ${n}, which the ISO lacks`, {
        hint: 'the ISO is incomplete or damaged',
      });
    return f;
  });
}

/** The root layers at these ISO paths (a chain, bottom first), with their compression read from each superblock. */
export async function chainLayers(base: Pick<InspectResult, 'iso' | 'files'>, paths: readonly string[]): Promise<RootfsLayer[]> {
  const out: RootfsLayer[] = [];
  for (const p of paths) {
    const f = base.files.find((x) => x.path === p);
    const sb = f ? await readSuperblock(base.iso, f.lba * ISO_SECTOR) : undefined;
    if (!f || !sb)
      throw new UsageError(`${base.iso}: ${p} is missing or not a squashfs image`, { hint: 'the ISO is incomplete or damaged' });
    out.push({ path: p, compression: sb.compression, blockSize: sb.blockSize, bytes: f.bytes, lba: f.lba });
  }
  return out;
}

/** The squashfs files casper stacks, bottom first: the LAYERFS_PATH chain, or every /casper/*.squashfs sorted. */
export function casperStack(report: IsoReport, casper: CasperInfo, iso = 'the ISO'): IsoFile[] {
  const inCasper = report.files.filter((f) => posix.dirname(f.path) === '/casper' && f.path.endsWith('.squashfs'));
  if (!casper.layerfsPath) return [...inCasper].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const chain = layerChain(casper.layerfsPath);
  return chain.map((name) => {
    const f = inCasper.find((x) => x.path === `/casper/${name}`);
    if (!f) {
      throw new UsageError(
        `${iso}: unknown layout: casper's layer path ${casper.layerfsPath} (from the ${casper.layerfsSource}) needs /casper/${name}, which the ISO lacks`,
        { hint: 'the ISO is incomplete or uses a layout remaster does not know' },
      );
    }
    return f;
  });
}
