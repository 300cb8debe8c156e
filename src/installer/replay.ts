// The installers' copy, replayed on the build host: the layer goes onto the base exactly as an installer would put it
// (d-i: the very hook the initrd carries; Calamares: rsync of each unpackfs entry after the base's), into a scratch
// target, and the result is checked for what an installed server needs. Seconds, on every build with an installed
// target: the base is the lower layer of an overlay, so only what the copy writes costs anything.
import { lstat, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { RemasterError } from '../errors.js';
import { run } from '../exec/run.js';
import { which } from '../exec/which.js';
import { IN_ROOT, withChroot } from '../rootfs/chroot.js';
import type { MountStack } from '../rootfs/mounts.js';
import { PAYLOAD_DIR } from '../units/render.js';

export interface ReplayExpectation {
  /** Binaries the engine must have put in the root (relative paths; /usr-merged or not). */
  binaries: readonly string[];
  /** Debian packages dpkg must list as installed. */
  packages: readonly string[];
  /** Files (relative) that must exist: the loader, its enabled unit, each image archive. */
  files: readonly string[];
  /** Paths (relative) the layer deletes: they must be gone. */
  deleted: readonly string[];
}

/** What every installed root must hold of the payload: the loader, its enabled unit, the manifest (not the archives). */
export const LOADER_FILES: readonly string[] = [
  'usr/lib/remaster/load-images',
  'etc/systemd/system/multi-user.target.wants/remaster-loader.service',
  `${PAYLOAD_DIR.slice(1)}/images.json`,
];

export interface ReplayResult {
  route: 'd-i-live-installer' | 'd-i' | 'calamares' | 'ubiquity';
  /** What failed, in words; empty when the installed root has everything. */
  problems: string[];
}

/** What the target misses of what was expected: one line per problem. */
export async function checkTarget(target: string, e: ReplayExpectation, signal?: AbortSignal): Promise<string[]> {
  const problems: string[] = [];
  const exists = (p: string) =>
    lstat(join(target, p)).then(
      () => true,
      () => false,
    );
  for (const b of e.binaries) if (!(await exists(b)) && !(await exists(b.replace(/^usr\//, '')))) problems.push(`${b} is missing`);
  for (const f of e.files) if (!(await exists(f))) problems.push(`${f} is missing`);
  for (const d of e.deleted) if (await exists(d)) problems.push(`${d} should have been deleted`);
  const q = await run(
    'dpkg-query',
    [`--admindir=${join(target, 'var/lib/dpkg')}`, '-W', '-f', '${Package} ${db:Status-Status}\\n', ...e.packages],
    {
      signal,
      okCodes: [0, 1],
    },
  );
  const status = new Map(
    q.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ') as [string, string]),
  );
  for (const p of e.packages) if (status.get(p) !== 'installed') problems.push(`dpkg does not list ${p} as installed`);
  return problems;
}

/** An overlay whose lower is the base root: writes land in a scratch upper, the base is never touched. */
async function scratchTarget(dir: string, baseRoot: string, mounts: MountStack): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  for (const d of ['upper', 'work', 'target']) await mkdir(join(dir, d), { recursive: true });
  const target = join(dir, 'target');
  await mounts.mount({
    source: 'remaster-replay',
    target,
    type: 'overlay',
    options: [`lowerdir=${baseRoot}`, `upperdir=${join(dir, 'upper')}`, `workdir=${join(dir, 'work')}`],
  });
  return target;
}

/** Commands a shell reported as not found ("hook: 53: du: not found", "sh: stat: not found"), once each. */
export function missingCommands(stderr: string): string[] {
  return [...new Set([...stderr.matchAll(/(?:^|: )([\w.+-]+): not found$/gm)].map((m) => m[1] ?? ''))].filter(Boolean);
}

/** The commands a d-i initrd offers: every file in its bin and sbin folders (busybox applets are links there). */
export function initrdCommands(names: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const n of names) {
    const m = /^(?:\.\/)?(?:usr\/)?s?bin\/([^/]+)$/.exec(n);
    if (m?.[1]) out.add(m[1]);
  }
  return [...out].sort();
}

/**
 * A folder for PATH holding only the commands d-i has, each a link to the build host's command of that name (d-i's
 * busybox applets stand for the host's tools): a hook that calls anything else (du, stat, ...) fails here as it would
 * in d-i, on the build host instead of on site.
 */
export async function commandFolder(dir: string, commands: readonly string[]): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const c of commands) {
    const host = await which(c);
    if (host) await symlink(host, join(dir, c));
  }
  return dir;
}

/**
 * d-i: run the live-installer hook (the script the initrd segment carries) against a target holding the base, with
 * the layer where /cdrom would show it, and only the commands the medium's d-i has on PATH.
 */
export async function replayLiveInstaller(o: {
  dir: string;
  baseRoot: string;
  layerFile: string;
  layerIsoPath: string;
  /** The ready store, where /cdrom shows it (the hook copies it to the disk). */
  store?: { file: string; isoPath: string } | undefined;
  hook: string;
  changes: string;
  /** The commands the installer's environment has (initrdCommands of its initrd). */
  commands: readonly string[];
  mounts: MountStack;
  expect: ReplayExpectation;
  signal?: AbortSignal | undefined;
}): Promise<ReplayResult> {
  const target = await scratchTarget(join(o.dir, 'd-i'), o.baseRoot, o.mounts);
  const path = await commandFolder(join(o.dir, 'd-i', 'bin'), o.commands);
  const cdrom = join(o.dir, 'd-i', 'cdrom');
  await mkdir(join(cdrom, o.layerIsoPath, '..'), { recursive: true });
  await symlink(o.layerFile, join(cdrom, o.layerIsoPath));
  if (o.store) {
    await mkdir(join(cdrom, o.store.isoPath, '..'), { recursive: true });
    await symlink(o.store.file, join(cdrom, o.store.isoPath));
  }
  await writeFile(join(o.dir, 'd-i', 'hook'), o.hook, { mode: 0o755 });
  await writeFile(join(o.dir, 'd-i', 'layer-changes'), o.changes);
  try {
    const r = await run('/bin/sh', [join(o.dir, 'd-i', 'hook')], {
      signal: o.signal,
      env: { PATH: path, REMASTER_TARGET: target, REMASTER_CDROM: cdrom, REMASTER_CHANGES: join(o.dir, 'd-i', 'layer-changes') },
      hint: 'the hook d-i runs after live-installer failed on the build host: the installed system would lack the layer',
    });
    // A missing command inside $(...) does not stop a shell script: its "not found" line does not go unseen.
    const missing = missingCommands(r.stderr);
    const problems = missing.length > 0 ? [`the hook calls commands d-i does not have: ${missing.join(', ')}`] : [];
    return { route: 'd-i-live-installer', problems: [...problems, ...(await checkTarget(target, o.expect, o.signal))] };
  } finally {
    await o.mounts.unwind();
  }
}

/**
 * d-i on a netinst or DVD image: run the late command (the script the initrd segment carries) against a target holding
 * the root d-i installs from the medium, with the .debs and the payload tar where /cdrom would show them, only the
 * commands the medium's d-i has on PATH, and in-target as d-i has it: the command in the target (proc, sys and dev
 * mounted, services kept from starting).
 */
export async function replayNetinst(o: {
  dir: string;
  baseRoot: string;
  script: string;
  /** ISO path of the .deb folder and the host files in it. */
  debsIsoPath: string;
  debs: readonly string[];
  payloadIsoPath: string;
  payloadFile: string;
  /** d-i's commands (in-target among them); none for Ubiquity, whose live session has the usual tools and chroot. */
  commands?: readonly string[] | undefined;
  mounts: MountStack;
  expect: ReplayExpectation;
  signal?: AbortSignal | undefined;
  route?: 'd-i' | 'ubiquity' | undefined;
}): Promise<ReplayResult> {
  const work = join(o.dir, 'd-i');
  const target = await scratchTarget(work, o.baseRoot, o.mounts);
  let path = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
  if (o.commands) {
    path = await commandFolder(join(work, 'bin'), o.commands);
    await writeFile(join(path, 'in-target'), `#!/bin/sh\nexec ${IN_ROOT} "$REMASTER_TARGET" "$@"\n`, { mode: 0o755 });
  }
  const cdrom = join(work, 'cdrom');
  await mkdir(join(cdrom, o.debsIsoPath), { recursive: true });
  for (const d of o.debs) await symlink(d, join(cdrom, o.debsIsoPath, basename(d)));
  await mkdir(join(cdrom, o.payloadIsoPath, '..'), { recursive: true });
  await symlink(o.payloadFile, join(cdrom, o.payloadIsoPath));
  await writeFile(join(work, 'late'), o.script, { mode: 0o755 });
  try {
    const r = await withChroot(target, { signal: o.signal }, () =>
      run('/bin/sh', [join(work, 'late')], {
        signal: o.signal,
        env: { PATH: path, REMASTER_TARGET: target, REMASTER_CDROM: cdrom },
        // The installer's environment has none of the build host's temp folders (dpkg-deb in the chroot uses TMPDIR).
        unsetEnv: ['TMPDIR', 'TMP', 'TEMP'],
        hint: "d-i's late command failed on the build host: systems installed from this ISO would lack the engine",
      }),
    );
    const missing = missingCommands(r.stderr).filter((c) => c !== 'in-target');
    const problems = missing.length > 0 ? [`the late command calls commands the installer does not have: ${missing.join(', ')}`] : [];
    return { route: o.route ?? 'd-i', problems: [...problems, ...(await checkTarget(target, o.expect, o.signal))] };
  } finally {
    await o.mounts.unwind();
  }
}

/**
 * Calamares: rsync each unpackfs entry in order, as its unpackfs module does (`rsync -aHAXSr`), the base's entries
 * being there already (the overlay's lower).
 */
export async function replayCalamares(o: {
  dir: string;
  baseRoot: string;
  layerRoot: string;
  /** The ready store's unpackfs entry (after the layer's): a squashfs unpacked, or a file copied as it is. */
  store?: { file: string; isoPath: string; sourcefs: 'squashfs' | 'file'; destination: string } | undefined;
  mounts: MountStack;
  expect: ReplayExpectation;
  signal?: AbortSignal | undefined;
}): Promise<ReplayResult> {
  const work = join(o.dir, 'calamares');
  const target = await scratchTarget(work, o.baseRoot, o.mounts);
  try {
    await run('rsync', [...CALAMARES_RSYNC, `${o.layerRoot}/`, `${target}/`], {
      signal: o.signal,
      hint: 'Calamares copies the layer with rsync; the same copy failed on the build host',
    });
    if (o.store) {
      // unpackfs: destination = root mount point + destination (no trailing slash); a squashfs is mounted and its
      // contents copied into that folder, a `file` is copied to that path.
      let dest = join(target, o.store.destination);
      let source = o.store.file;
      // rsync copies a file into an existing folder under its own name: the medium's, not the build's work file's.
      if (o.store.sourcefs === 'file' && (await lstat(dest).catch(() => undefined))?.isDirectory())
        dest = join(dest, basename(o.store.isoPath));
      if (o.store.sourcefs === 'squashfs') {
        source = join(work, 'store-source');
        await mkdir(source, { recursive: true });
        await o.mounts.mount({ source: o.store.file, target: source, type: 'squashfs', options: ['loop', 'ro'] });
        source = `${source}/`;
      }
      await run('rsync', [...CALAMARES_RSYNC, source, dest], {
        signal: o.signal,
        hint: 'Calamares copies the ready store with rsync (its unpackfs entry); the same copy failed on the build host',
      });
    }
    return { route: 'calamares', problems: await checkTarget(target, o.expect, o.signal) };
  } finally {
    await o.mounts.unwind();
  }
}

/** The rsync Calamares' unpackfs runs (3.2 and later): overlayfs' own extended attributes are not copied. */
const CALAMARES_RSYNC = ['-aHAXr', '--filter=-x trusted.overlay.*'];

/** Throw when a replay found problems: the installed system would lack what the live one has. */
export function requireReplayed(r: ReplayResult): void {
  if (r.problems.length === 0) return;
  throw new RemasterError(`a ${r.route} install from this ISO would miss part of the payload: ${r.problems.slice(0, 5).join('; ')}`, {
    hint: 'this is a remaster bug for this base: report it with the base ISO name and the build log',
  });
}
