// The work directory of one build: every path derives from its root; a lock keeps two runs apart.
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, readlink, rm, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { currentMounts, mountsUnder, sweepMounts } from '../rootfs/mounts.js';

export class Workspace {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  static forOutput(cacheDir: string, out: string): Workspace {
    const key = createHash('sha256').update(resolve(out)).digest('hex').slice(0, 12);
    return new Workspace(join(cacheDir, 'work', key));
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  get payload() {
    return this.path('payload');
  }
  /** What the payload stage put into the layer (a rerun takes exactly that out; a netinst medium tars exactly that). */
  get payloadWritten() {
    return this.path('payload-written.json');
  }
  get isoFiles() {
    return this.path('iso-files');
  }
  get verifyDir() {
    return this.path('verify');
  }
  get lockFile() {
    return this.path('lock');
  }

  /**
   * Create the workspace, take its lock, and undo what a killed earlier run left: mounts first,
   * then the half-built layer. Throws when another live process holds the lock.
   */
  async open(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const holder = await readFile(this.lockFile, 'utf8').catch(() => '');
    const pid = Number(holder.trim());
    if (pid && pid !== process.pid && alive(pid)) {
      throw new UsageError(`another remaster run (pid ${pid}) is using ${this.root}`, {
        hint: 'wait for it to finish, or give this build another --out or --work-dir',
      });
    }
    // A run killed outright (SIGKILL, OOM) leaves its tools running (each in its own process group): an apt
    // still installing into the layer, a mksquashfs still writing. Stop them before touching their files.
    await killStragglers(this.root);
    await sweepMounts(this.root);
    const fh = await open(this.lockFile, 'w');
    await fh.writeFile(`${process.pid}\n`);
    await fh.close();
  }

  async release(): Promise<void> {
    await sweepMounts(this.root);
    await unlink(this.lockFile).catch(() => {});
  }

  async remove(): Promise<void> {
    await sweepMounts(this.root);
    await rm(this.root, { recursive: true, force: true });
  }
}

/** A default work folder (<cache>/work/<hash>) nobody touched for this long was abandoned: its resume is stale. */
export const STALE_WORK_MS = 3 * 24 * 3600 * 1000;

/**
 * Remove abandoned default work folders under <cacheDir>/work (failed or interrupted builds never rerun): untouched
 * for maxAgeMs, no live lock holder, nothing mounted below. Folders given with --work-dir are never looked at.
 */
export async function pruneStaleWorkspaces(cacheDir: string, keep: string, maxAgeMs = STALE_WORK_MS): Promise<string[]> {
  const root = join(cacheDir, 'work');
  const removed: string[] = [];
  const mounts = await currentMounts();
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const dir = join(root, name);
    if (dir === resolve(keep)) continue;
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory() || Date.now() - st.mtimeMs < maxAgeMs) continue;
    const pid = Number((await readFile(join(dir, 'lock'), 'utf8').catch(() => '')).trim());
    if (pid && alive(pid)) continue;
    if (mountsUnder(mounts, dir).length > 0) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/**
 * Whether a process works inside dir: chrooted into it (apt and package scripts), or with an argument that
 * names a path inside it (mksquashfs, skopeo, xorriso, mount). A shell merely sitting in it is left alone.
 */
export function usesDir(dir: string, p: { root?: string | undefined; argv: readonly string[] }): boolean {
  const inside = (x: string) => x === dir || x.startsWith(`${dir}/`);
  const names = (a: string) => a.startsWith(`${dir}/`) || a.includes(`=${dir}/`) || a.includes(`:${dir}/`);
  return (p.root !== undefined && inside(p.root)) || p.argv.some(names);
}

/** SIGKILL every other process that works inside dir; returns their pids. */
export async function killStragglers(dir: string): Promise<number[]> {
  const killed: number[] = [];
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p)).map(Number);
  const ancestors = await ancestorsOfSelf();
  for (const pid of pids) {
    if (ancestors.has(pid)) continue;
    const root = await readlink(`/proc/${pid}/root`).catch(() => undefined);
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
    if (!usesDir(dir, { root, argv })) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // Gone already.
    }
  }
  for (const pid of killed) for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  return killed;
}

/** This process and the ones that started it (a shell whose command line names the work folder is spared). */
async function ancestorsOfSelf(): Promise<Set<number>> {
  const seen = new Set<number>();
  for (let pid = process.pid; pid > 1 && !seen.has(pid);) {
    seen.add(pid);
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return seen;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
