// Mounts that are always undone: a stack unwound in reverse on every exit path, and a sweep for leftovers.
import { access, readFile, realpath } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolve, sep } from 'node:path';
import { RemasterError } from '../errors.js';
import { type RunOptions, run } from '../exec/run.js';

export interface MountSpec {
  source: string;
  target: string;
  type?: string | undefined;
  options?: readonly string[] | undefined;
  bind?: boolean | undefined;
}

export function mountArgs(m: MountSpec): string[] {
  const args: string[] = [];
  if (m.bind) args.push('--bind');
  if (m.type) args.push('-t', m.type);
  if (m.options && m.options.length > 0) args.push('-o', m.options.join(','));
  args.push(m.source, m.target);
  return args;
}

/** Decode the octal escapes (\040 for space...) used in /proc/self/mountinfo. */
export function decodeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/** Mount points listed in mountinfo text. */
export function parseMountinfo(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined && p !== '')
    .map(decodeMountPath);
}

export async function currentMounts(): Promise<string[]> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** Mount points at or below dir, deepest (and latest) first: the order to unmount them. */
export function mountsUnder(mounts: readonly string[], dir: string): string[] {
  const root = resolve(dir);
  const inside = mounts.map((m, i) => ({ m, i })).filter(({ m }) => m === root || m.startsWith(root + sep));
  return inside.sort((a, b) => b.m.split(sep).length - a.m.split(sep).length || b.i - a.i).map(({ m }) => m);
}

async function umount(target: string, io: RunOptions): Promise<void> {
  try {
    await run('umount', [target], { ...io, signal: undefined });
  } catch {
    // Busy (a process still has a file open): detach now, the kernel finishes when it is free.
    await run('umount', ['--lazy', target], { ...io, signal: undefined }).catch(() => {});
  }
}

/** Unmount everything below dir (left by a killed run); returns what was unmounted. */
export async function sweepMounts(dir: string, io: RunOptions = {}): Promise<string[]> {
  const done: string[] = [];
  for (let round = 0; round < 4; round++) {
    const left = mountsUnder(await currentMounts(), dir);
    if (left.length === 0) break;
    for (const m of left) {
      await umount(m, io);
      done.push(m);
    }
  }
  return done;
}

/**
 * The kernel detaches an autoclear loop device after the unmount returns (deferred rundown), and not at all
 * after a lazy unmount while something holds it. Wait for it; then `losetup -d`, which on a device still in
 * use only marks it to go when released, so it never breaks another mount of the same file.
 */
export async function releaseLoop(device: string, io: RunOptions = {}): Promise<void> {
  const attached = () =>
    access(`/sys/block/${device.replace(/^\/dev\//, '')}/loop/backing_file`).then(
      () => true,
      () => false,
    );
  for (let i = 0; i < 20 && (await attached()); i++) await sleep(100);
  if (await attached()) await run('losetup', ['-d', device], { ...io, signal: undefined }).catch(() => {});
  for (let i = 0; i < 20 && (await attached()); i++) await sleep(100);
}

export class MountStack {
  private readonly stack: string[] = [];
  /** Loop device behind each loop mount we made. */
  private readonly loops = new Map<string, string>();

  constructor(private readonly io: RunOptions = {}) {}

  async mount(m: MountSpec): Promise<void> {
    await run('mount', mountArgs(m), { ...this.io, signal: undefined });
    const target = resolve(m.target);
    this.stack.push(target);
    if (m.options?.includes('loop')) {
      const r = await run('findmnt', ['-n', '-o', 'SOURCE', '--mountpoint', target], { ...this.io, signal: undefined }).catch(
        () => undefined,
      );
      const dev = r?.stdout.trim().split('\n').at(-1);
      if (dev?.startsWith('/dev/loop')) this.loops.set(target, dev);
    }
  }

  get active(): readonly string[] {
    return this.stack;
  }

  /** Unmount in reverse order; never throws, so it is safe in finally blocks. */
  async unwind(): Promise<void> {
    while (this.stack.length > 0) {
      const target = this.stack.pop();
      if (target === undefined) break;
      const still = await currentMounts();
      if (still.includes(target)) {
        // Anything mounted below it by someone else (e.g. a package's postinst) goes first.
        for (const inner of mountsUnder(still, target)) if (inner !== target) await umount(inner, this.io);
        await umount(target, this.io);
      }
      const loop = this.loops.get(target);
      this.loops.delete(target);
      if (loop) await releaseLoop(loop, this.io);
    }
  }
}

/**
 * Delete a scratch tree. Anything still mounted below it (a debootstrap killed mid-run leaves /proc and /sys in its
 * root) is unmounted first; if that fails the tree is left alone rather than deleted through a mount.
 */
export async function removeTree(dir: string): Promise<void> {
  let real: string;
  try {
    real = await realpath(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await sweepMounts(real);
  const left = mountsUnder(await currentMounts(), real);
  if (left.length > 0) {
    throw new RemasterError(`not deleting ${real}: still mounted: ${left.join(', ')}`, {
      hint: `unmount them (umount --recursive ${real}) and delete the directory by hand`,
    });
  }
  // --one-file-system: never descend into something mounted after the check above.
  await run('rm', ['-rf', '--one-file-system', '--', real]);
}
