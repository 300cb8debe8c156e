// Which installers a base carries, and whether remaster can put its payload on the systems they install. Read from
// the ISO's file tree and a few small files; each installer's route is documented in the README ("Installed systems").
import { posix } from 'node:path';
import { type InstallSource, type InstallSourcesDoc, missingMembers, sourcePaths } from './install-sources.js';
import type { IsoFile } from './xorriso.js';

export type InstallerKind = 'd-i-live-installer' | 'd-i' | 'calamares' | 'subiquity' | 'ubiquity';

export interface InstallerInfo {
  kind: InstallerKind;
  /** remaster can reach the systems this installer installs. */
  supported: boolean;
  /** How (the route), or why not. */
  route: string;
  /** d-i: its kernel/initrd pairs on the medium (every one gets remaster's initrd segment). */
  initrds?: string[] | undefined;
  /** Calamares: the base's unpackfs.conf. */
  unpackfs?: string | undefined;
  /** subiquity: the install sources (each gets its own layer over its chain). */
  sources?: InstallSource[] | undefined;
  /** Ubiquity: the preseed files the boot entries load (ubiquity/success_command goes into each). */
  seeds?: string[] | undefined;
  /**
   * The medium's installer files are in a shape no route covers (an unknown install-sources.yaml, a source whose chain
   * misses a member): a build is refused unless it asks for the live session only.
   */
  unknownLayout?: boolean | undefined;
}

export interface TargetReach {
  live: { reachable: boolean; why: string };
  installed: { reachable: boolean; why: string };
}

/** What detection reads besides the file list: small texts from the medium and the live root. */
export interface InstallerEvidence {
  files: readonly IsoFile[];
  /** .disk/udeb_include: the udebs d-i loads from the medium (live-installer on Debian's live ISOs). */
  udebInclude?: string | undefined;
  /** The live root's /etc/calamares/modules/unpackfs.conf. */
  unpackfs?: string | undefined;
  /** The base has a live root (/live or /casper). */
  liveRoot: boolean;
  /** Ubuntu's subiquity install sources (casper/install-sources.yaml), when the medium has them. */
  installSources?: InstallSourcesDoc | undefined;
  /** The preseed files boot menus load (file=/cdrom/preseed/...). */
  menuSeeds?: readonly string[] | undefined;
  /** A netinst or DVD image: d-i installs the base system from the medium's package pool. */
  pool?: boolean | undefined;
}

/** d-i's initrds on a medium: /install*\/initrd.gz and /install*\/<frontend>/initrd.gz (gtk), with a kernel beside. */
export function diInitrds(files: readonly IsoFile[]): string[] {
  const paths = new Set(files.map((f) => f.path));
  return files
    .map((f) => f.path)
    .filter((p) => /^\/install(\.[a-z0-9]+)?\/([a-z]+\/)?initrd\.gz$/.test(p) && paths.has(posix.join(posix.dirname(p), 'vmlinuz')))
    .sort();
}

export function detectInstallers(e: InstallerEvidence): InstallerInfo[] {
  const out: InstallerInfo[] = [];
  const initrds = diInitrds(e.files);
  const has = (re: RegExp) => e.files.some((f) => re.test(f.path));
  if (initrds.length > 0 && e.liveRoot) {
    const liveInstaller = /(^|\s)live-installer(\s|$)/m.test(e.udebInclude ?? '') || has(/\/live-installer_[^/]*\.udeb$/);
    out.push(
      liveInstaller
        ? {
            kind: 'd-i-live-installer',
            supported: true,
            route: 'a hook in every d-i initrd copies the new layer onto /target right after live-installer copies the base',
            initrds,
          }
        : {
            kind: 'd-i',
            supported: false,
            route: 'd-i without live-installer on a live ISO installs with debootstrap from a package pool: not a route remaster has yet',
            initrds,
          },
    );
  }
  if (initrds.length > 0 && !e.liveRoot && e.pool) {
    out.push({
      kind: 'd-i',
      supported: true,
      route:
        "a late command in every d-i initrd installs the engine's .debs from /remaster on the medium into /target (in-target dpkg -i) and unpacks the payload",
      initrds,
    });
  }
  if (e.unpackfs !== undefined) {
    out.push({
      kind: 'calamares',
      supported: true,
      route: "the layer's unpackfs.conf lists the base's images, then the layer (Calamares rsyncs them in order)",
      unpackfs: e.unpackfs,
    });
  }
  if (e.installSources) out.push(subiquityRoute(e.installSources, e.files));
  const seeds = (e.menuSeeds ?? []).filter((p) => e.files.some((f) => f.path === p));
  if (has(/^\/preseed\/[^/]*\.seed$/) && !e.installSources) {
    out.push(
      seeds.length > 0
        ? {
            kind: 'ubiquity',
            supported: true,
            route: `ubiquity/success_command in ${seeds.join(', ')} installs the engine's .debs from the medium into /target (dpkg) and unpacks the payload, after Ubiquity's own install`,
            seeds,
          }
        : {
            kind: 'ubiquity',
            supported: false,
            route: 'no boot entry loads a preseed file (file=/cdrom/preseed/...), so success_command cannot be set',
          },
    );
  }
  return out;
}

/** subiquity's route: a layer over each install source's chain, named into it; or why not. */
function subiquityRoute(doc: InstallSourcesDoc, files: readonly IsoFile[]): InstallerInfo {
  if (!doc.ok) return { kind: 'subiquity', supported: false, unknownLayout: true, route: doc.why };
  const has = (p: string) => files.some((f) => f.path === p);
  for (const path of sourcePaths(doc.sources)) {
    const missing = missingMembers(path, has);
    if (missing.length > 0) {
      const id = doc.sources.find((s) => s.path === path || s.variations.some((v) => v.path === path))?.id ?? path;
      return {
        kind: 'subiquity',
        supported: false,
        unknownLayout: true,
        route: `install source ${id} (${path}): curtin mounts ${missing.join(', ')}, which the ISO lacks`,
      };
    }
  }
  const langs = doc.sources.filter((s) => s.preinstalledLangs.length > 0);
  if (langs.length > 0) {
    return {
      kind: 'subiquity',
      supported: false,
      route: `install source ${langs.map((s) => s.id).join(', ')} installs a language layer on top (preinstalled_langs: <name>.<lang>.squashfs), whose own dpkg status would hide the engine's: remaster does not rebuild language layers`,
    };
  }
  return {
    kind: 'subiquity',
    supported: true,
    route:
      'each install source gets a layer over its own chain (<name>.remaster.squashfs) and install-sources.yaml names it: curtin copies it with the chain',
    sources: doc.sources,
  };
}

/** The Debian installer remaster reaches on this base (live-installer on a live ISO, or d-i on a netinst/DVD), if any. */
export function reachedDi(installers: readonly InstallerInfo[]): InstallerInfo | undefined {
  return installers.find((i) => (i.kind === 'd-i-live-installer' || i.kind === 'd-i') && i.supported);
}

/** Which targets a build on this base can reach. */
export function targetReach(liveRoot: boolean, installers: readonly InstallerInfo[]): TargetReach {
  const routes = installers.filter((i) => i.supported);
  return {
    live: liveRoot
      ? { reachable: true, why: 'the live root is stacked with the new layer' }
      : { reachable: false, why: 'the base has no live root' },
    installed:
      routes.length > 0
        ? { reachable: true, why: routes.map((r) => r.kind).join(' and ') }
        : installers.length > 0
          ? { reachable: false, why: installers.map((i) => `${i.kind}: ${i.route}`).join('; ') }
          : { reachable: false, why: 'the base carries no installer' },
  };
}

/**
 * Whether installed systems get the engine from .debs on the medium (dpkg in the target) rather than from a layer:
 * netinst and DVD images (no live root), and Ubiquity (its success_command runs after users, GRUB and packages were
 * set up, so a copied layer would undo them).
 */
export function installsFromMedium(base: { pool?: unknown; installers: readonly InstallerInfo[] }, target: string | undefined): boolean {
  if (base.pool) return true;
  return target !== 'live' && base.installers.some((i) => i.kind === 'ubiquity' && i.supported);
}
