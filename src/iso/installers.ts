// Which installers a base carries, and whether remaster can put its payload on the systems they install. Read from
// the ISO's file tree and a few small files; each installer's route is documented in the README ("Installed systems").
import { posix } from 'node:path';
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
  /** Ubuntu's subiquity install sources (casper/install-sources.yaml). */
  installSources: boolean;
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
  if (e.installSources) {
    out.push({
      kind: 'subiquity',
      supported: false,
      route: 'subiquity installs the install-sources.yaml chain, which does not include the layer: not a route remaster has yet',
    });
  }
  if (has(/^\/preseed\/ubuntu[^/]*\.seed$/) && !e.installSources) {
    out.push({ kind: 'ubiquity', supported: false, route: 'Ubiquity copies the first squashfs only: not a route remaster has yet' });
  }
  return out;
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
