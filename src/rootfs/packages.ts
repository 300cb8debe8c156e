// Engine packages: what to install for each engine; apt and dpkg in a chroot (their progress, the shared caches, the
// leftovers an install must not leave in the layer).
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { ToolError } from '../errors.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import { decompressorPackage } from '../images/compress.js';
import type { ChrootSession } from './chroot.js';
import type { Compression, Engine, ImageStore } from '../types.js';
import { pctText, Throttle, type ThrottleOptions } from '../util/progress.js';

/** Debian package names; the engine's own dependencies (containerd, runc, conmon, iptables...) follow. */
export const enginePackages: Record<Engine, string[]> = {
  // apparmor: the kernel has AppArmor on and docker refuses to start any container without apparmor_parser
  // ("docker-default profile could not be loaded"): seen in a verify boot. Loading images works without it.
  docker: ['docker.io', 'apparmor'],
  // dbus: podman's default systemd cgroup manager needs the system bus; without it crun fails every
  // `podman run` with "cannot open sd-bus" (seen in a verify boot). Loading works without it.
  podman: ['podman', 'dbus'],
};

/**
 * Installed with the engine where the release has them. Debian 13 split docker's command line client out of docker.io
 * into docker-cli, which docker.io only recommends (seen: a trixie build had dockerd but no usr/bin/docker).
 */
export const engineCompanions: Record<Engine, string[]> = {
  docker: ['docker-cli'],
  podman: [],
};

/** pkgs plus those of `optional` the root's apt knows (after apt-get update). */
async function withAvailable(s: ChrootSession, pkgs: readonly string[], optional: readonly string[], io: RunOptions): Promise<string[]> {
  const out = [...pkgs];
  for (const p of optional) {
    const r = await s.run(['apt-cache', 'show', '--no-all-versions', p], { ...io, okCodes: [0, 100] });
    if (r.exitCode === 0 && /^Package: /m.test(r.stdout) && !out.includes(p)) out.push(p);
  }
  return out;
}

/** Binaries that must exist in the root after installation, per engine (relative to the root). */
export const engineBinaries: Record<Engine, string[]> = {
  docker: ['usr/bin/docker', 'usr/sbin/dockerd', 'usr/bin/containerd', 'usr/sbin/iptables', 'usr/sbin/apparmor_parser'],
  podman: ['usr/bin/podman', 'usr/bin/conmon'],
};

export function packagesFor(engine: Engine, compression: Compression, extra: readonly string[], store: ImageStore = 'load'): string[] {
  const pkgs = [...enginePackages[engine]];
  // docker's ready store is an ext4 image made writable at boot by a device-mapper snapshot and grown to fit.
  if (engine === 'docker' && store === 'ready') pkgs.push('dmsetup', 'e2fsprogs');
  const dec = decompressorPackage[compression];
  if (dec) pkgs.push(dec);
  pkgs.push(...extra);
  return [...new Set(pkgs)];
}

/** The fd apt and dpkg report their machine-readable status on (RunOptions.onStatusLine reads it). */
export const STATUS_FD = 3;

export function aptInstallArgs(pkgs: readonly string[], statusFd?: number): string[] {
  return [
    'apt-get',
    'install',
    '-y',
    '-q',
    '--no-install-recommends',
    '-o',
    'Dpkg::Options::=--force-confdef',
    '-o',
    'Dpkg::Options::=--force-confold',
    ...(statusFd === undefined ? [] : ['-o', `APT::Status-Fd=${statusFd}`]),
    ...pkgs,
  ];
}

/** Progress callback of the installs: one throttled line per step (download and install percentages). */
export type PackageProgress = (line: string) => void;

/** Where the shared package caches are bound inside the chroot (apt's own locations). */
export const APT_ARCHIVES = '/var/cache/apt/archives';
export const APT_LISTS = '/var/lib/apt/lists';

const APT_HINT =
  "apt in the base root must reach its mirror (see the root's /etc/apt/sources.list*); the packages must exist for the base release";

/**
 * Run apt or dpkg in the root; a failure on a lock held by another process gets a hint about that lock instead of
 * the mirror (remaster's own builds take turns on the shared apt cache, so this is somebody else's apt or dpkg).
 */
async function aptRun(s: ChrootSession, argv: readonly string[], io: RunOptions): Promise<RunResult> {
  try {
    return await s.run(argv, io);
  } catch (e) {
    if (!(e instanceof ToolError) || !/Could not get lock|Unable to acquire the dpkg frontend lock/.test(e.stderrTail)) throw e;
    throw new ToolError(`${argv[0]} could not get its lock: ${lockHolderOf(e.stderrTail)} holds it`, e.tool, e.stderrTail, {
      hint: `another apt or dpkg works on the same package cache or root: wait for ${lockHolderOf(e.stderrTail)} to finish (or stop it), then run again`,
      cause: e,
    });
  }
}

/** "process 30312 (apt-get)" from apt's "Could not get lock ... It is held by process 30312 (apt-get)". */
export function lockHolderOf(aptStderr: string): string {
  const m = /held by process (\d+)(?: \(([^)]*)\))?/.exec(aptStderr);
  return m ? `process ${m[1]}${m[2] ? ` (${m[2]})` : ''}` : 'another process';
}

/** The `Inst <name> [<old>] (<version> <release> [<arch>])` lines of apt-get -s: name=version, sorted. */
export function parseAptSimulation(stdout: string): string[] {
  const out: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+)/.exec(line);
    if (m) out.push(`${m[1]}=${m[2]}`);
  }
  return out.sort();
}

/**
 * Update the package lists and ask apt, without changing anything, which packages and versions installing pkgs
 * would bring: the exact input of an install (a new version on the mirror gives a new answer).
 */
export async function aptResolve(
  s: ChrootSession,
  requested: readonly string[],
  io: RunOptions,
  onProgress?: PackageProgress,
  optional: readonly string[] = [],
): Promise<{ pkgs: string[]; resolved: string[] }> {
  onProgress?.('apt: update the package lists');
  await aptRun(s, ['apt-get', 'update', '-q', '-o', 'Acquire::Languages=none'], { ...io, hint: APT_HINT });
  const pkgs = await withAvailable(s, requested, optional, io);
  const { stdout } = await aptRun(s, ['apt-get', 'install', '-s', '-q', '--no-install-recommends', ...pkgs], { ...io, hint: APT_HINT });
  return { pkgs, resolved: parseAptSimulation(stdout) };
}

/**
 * Install pkgs with apt, on the lists aptResolve just updated. The downloaded .debs stay in the archive folder:
 * it is the shared cache bound in, for the next build.
 */
export async function aptInstall(
  s: ChrootSession,
  pkgs: readonly string[],
  io: RunOptions,
  onProgress?: PackageProgress,
): Promise<string[]> {
  const hint = APT_HINT;
  await aptRun(s, aptInstallArgs(pkgs, onProgress ? STATUS_FD : undefined), {
    ...io,
    hint,
    ...(onProgress ? { onStatusLine: aptProgress(onProgress, 'apt') } : {}),
  });
  // apt's own status stops short of 100 (its last step is "Installed <pkg>"): apt-get exiting 0 is the end.
  onProgress?.(`apt: install 100 % (${pkgs.length} package(s) and their dependencies)`);
  const { stdout } = await s.run(['dpkg-query', '-W', '-f', '${Package}=${Version}\\n', ...pkgs], io);
  return stdout.split('\n').filter(Boolean);
}

/** Where an offline package folder is bound inside the chroot. */
export const OFFLINE_DEBS = '/run/remaster-debs';

/** Install from a folder of .debs (made by `remaster packages fetch`): no apt-get update, no network. */
export async function aptInstallOffline(
  s: ChrootSession,
  debs: readonly string[],
  pkgs: readonly string[],
  io: RunOptions,
  onProgress?: PackageProgress,
): Promise<string[]> {
  const hint =
    'the package folder must hold the full dependency closure for this base: make it with remaster packages fetch --iso <this base>';
  // dpkg, not apt: apt mishandles some local .deb paths ("Pathname to install is not absolute") and would
  // want package lists; dpkg unpacks the whole set, then configures it, so order does not matter.
  const progress = onProgress && new DpkgProgress(debs.length);
  const throttle = onProgress && new Throttle(onProgress);
  await s.run(
    [
      'dpkg',
      '-i',
      '--force-confdef',
      '--force-confold',
      ...(progress ? ['--status-fd', String(STATUS_FD)] : []),
      ...debs.map((d) => `${OFFLINE_DEBS}/${d}`),
    ],
    {
      ...io,
      hint,
      ...(progress && throttle
        ? {
            onStatusLine: (line: string) => {
              const p = progress.feed(line);
              if (p) throttle.report(p.pct, `dpkg: ${pctText(p.pct)} (${p.action} ${p.pkg})`);
            },
          }
        : {}),
    },
  );
  const { stdout } = await s.run(['dpkg-query', '-W', '-f', '${Package}=${Version}\\n', ...pkgs], { ...io, hint });
  return stdout.split('\n').filter(Boolean);
}

/** Download (only) the packages and every dependency the root lacks, into the chroot's apt archive cache. */
export async function aptDownload(
  s: ChrootSession,
  requested: readonly string[],
  io: RunOptions,
  onProgress?: PackageProgress,
  optional: readonly string[] = [],
): Promise<string[]> {
  const hint = "apt in the base root must reach its mirror (see the root's /etc/apt/sources.list*)";
  onProgress?.('apt: update the package lists');
  await aptRun(s, ['apt-get', 'update', '-q', '-o', 'Acquire::Languages=none'], { ...io, hint });
  const pkgs = await withAvailable(s, requested, optional, io);
  await aptRun(
    s,
    [
      'apt-get',
      'install',
      '-y',
      '-q',
      '--no-install-recommends',
      '--download-only',
      ...(onProgress ? ['-o', `APT::Status-Fd=${STATUS_FD}`] : []),
      ...pkgs,
    ],
    { ...io, hint, ...(onProgress ? { onStatusLine: aptProgress(onProgress, 'apt') } : {}) },
  );
  return pkgs;
}

/** Paths (relative to the root) that only hold caches of the build: dropped from the new layer. */
// The install's own logs go too: they differ on every run and would make the output unreproducible.
export const BUILD_LEFTOVERS = [
  'var/lib/apt/lists',
  'var/cache/apt',
  'tmp',
  'var/tmp',
  'root/.cache',
  'var/log/apt',
  'var/log/dpkg.log',
  'var/log/alternatives.log',
  'var/cache/ldconfig/aux-cache',
  // dbus's postinst writes a random id here when /etc/machine-id is empty: every machine booted from the ISO
  // would share it, and builds would differ. dbus reads /etc/machine-id (generated at boot) first.
  'var/lib/dbus/machine-id',
];

export interface AptStatus {
  /** dlstatus: downloading; pmstatus: unpacking and configuring (dpkg); error: pmerror. */
  kind: 'download' | 'install' | 'error' | 'conffile';
  pct: number;
  /** Package name (pmstatus) or file number (dlstatus). */
  what: string;
  message: string;
}

/**
 * One line of apt's status fd (-o APT::Status-Fd=N): "dlstatus:1:42.5000:Retrieving file 3 of 30",
 * "pmstatus:zstd:20.0000:Unpacking zstd (amd64)". Each phase runs from 0 to 100 on its own.
 */
export function parseAptStatus(line: string): AptStatus | undefined {
  const m = /^(dlstatus|pmstatus|pmerror|pmconffile):([^:]*):([\d.]+):(.*)$/.exec(line.trim());
  if (!m) return undefined;
  const kinds = { dlstatus: 'download', pmstatus: 'install', pmerror: 'error', pmconffile: 'conffile' } as const;
  return { kind: kinds[m[1] as keyof typeof kinds], what: m[2] ?? '', pct: Number(m[3]), message: m[4] ?? '' };
}

/**
 * Package progress of `dpkg -i --status-fd N` over a known number of packages: each package counts once
 * when unpacked ("processing: install: pkg" / "upgrade") and once when configured ("processing: configure").
 */
export class DpkgProgress {
  private readonly seen = new Set<string>();

  constructor(private readonly packages: number) {}

  /** Feed one status line; returns the new state when it moved. */
  feed(line: string): { pct: number; action: string; pkg: string } | undefined {
    const m = /^processing:\s*(install|upgrade|configure):\s*(\S+)/.exec(line.trim());
    if (!m || this.packages <= 0) return undefined;
    const action = m[1] === 'configure' ? 'configure' : 'unpack';
    const pkg = m[2] ?? '';
    const key = `${action} ${pkg}`;
    if (this.seen.has(key)) return undefined;
    this.seen.add(key);
    return { pct: Math.min(100, (this.seen.size / (2 * this.packages)) * 100), action, pkg };
  }
}

/**
 * Progress lines for apt's status fd: download and install are separate phases with their own percentages,
 * each throttled. Returns the function to give RunOptions.onStatusLine.
 */
export function aptProgress(emit: (text: string) => void, label: string, o: ThrottleOptions = {}): (line: string) => void {
  const download = new Throttle(emit, o);
  const install = new Throttle(emit, o);
  return (line) => {
    const s = parseAptStatus(line);
    if (!s) return;
    if (s.kind === 'download') download.report(s.pct, `${label}: download ${pctText(s.pct)} (${s.message})`);
    else if (s.kind === 'install') install.report(s.pct, `${label}: install ${pctText(s.pct)} (${s.message})`);
    else if (s.kind === 'error') emit(`${label}: ${s.what}: ${s.message}`);
  };
}

/**
 * The shared apt caches under cacheDir/apt: one folder of .debs (apt checks each against the package lists'
 * hashes before use, so bases of different releases can share it) and package lists per set of sources.
 */
export async function aptCacheDirs(cacheDir: string, root: string, arch: string): Promise<{ archives: string; lists: string }> {
  const etc = join(root, 'etc', 'apt');
  let sources = await readFile(join(etc, 'sources.list'), 'utf8').catch(() => '');
  const d = join(etc, 'sources.list.d');
  for (const f of (await readdir(d).catch(() => [] as string[])).sort())
    sources += `\n# ${f}\n${await readFile(join(d, f), 'utf8').catch(() => '')}`;
  const key = createHash('sha256').update(`${arch}\n${sources}`).digest('hex').slice(0, 16);
  const archives = join(cacheDir, 'apt', 'archives');
  const lists = join(cacheDir, 'apt', `lists-${key}`);
  await mkdir(join(archives, 'partial'), { recursive: true });
  await mkdir(join(lists, 'partial'), { recursive: true });
  return { archives, lists };
}

export async function debsIn(dir: string): Promise<Set<string>> {
  return new Set((await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.deb')));
}

/**
 * Remove apt lists, caches and temp files the install left. In layer mode this acts on the upper directory
 * only, so the base's own files at those paths show through unchanged (whiteouts included are dropped).
 */
export async function dropLeftovers(root: string, wholeDirs: boolean): Promise<void> {
  for (const rel of BUILD_LEFTOVERS) {
    const dir = join(root, rel);
    const st = await lstat(dir).catch(() => undefined);
    if (!st) continue;
    if (wholeDirs || !st.isDirectory()) {
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    const entries = await readdir(dir).catch(() => [] as string[]);
    for (const e of entries) {
      if (rel === 'var/lib/apt/lists' && (e === 'partial' || e === 'lock')) continue;
      if (rel === 'var/cache/apt' && e === 'archives') continue;
      await rm(join(dir, e), { recursive: true, force: true });
    }
  }
}
