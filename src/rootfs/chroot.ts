// Run commands inside a root filesystem: proc/sys/dev bound, services forbidden to start, every mount undone.
import { lstat, mkdir, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunOptions, type RunResult, run } from '../exec/run.js';
import { MountStack } from './mounts.js';

/**
 * The one helper that runs a command inside another root (scripts/in-root, also used by the shell scripts): a
 * clean environment (TMPDIR=/tmp, no TMP/TEMP, a standard PATH, LC_ALL=C.UTF-8, noninteractive debconf, the
 * host's proxies) and nothing else of the caller's. A host TMPDIR names a folder the root does not have, and
 * package scripts that call mktemp fail on it (apparmor's postinst and update-ca-certificates did).
 */
export const IN_ROOT = fileURLToPath(new URL('../../../scripts/in-root', import.meta.url));

/** Arguments of scripts/in-root: each variable of env as `-e NAME=VALUE`, then the root and the command. */
export function inRootArgs(root: string, argv: readonly string[], env: Record<string, string | undefined> = {}): string[] {
  const sets = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : ['-e', `${k}=${v}`]));
  return [...sets, root, ...argv];
}

/** Run argv inside root through scripts/in-root; io.env becomes the command's own extra variables. */
export function runInRoot(root: string, argv: readonly string[], io: RunOptions = {}): Promise<RunResult> {
  const { env, ...rest } = io;
  return run(IN_ROOT, inRootArgs(root, argv, env), rest);
}

export interface ChrootSession {
  root: string;
  run(argv: readonly string[], io?: RunOptions): Promise<RunResult>;
}

/**
 * Open a chroot session on `root`: bind /proc, /sys, /dev, /dev/pts; a policy-rc.d that refuses to start
 * services; the host's resolv.conf bound over the root's (never copied into it). Everything is undone
 * when fn returns or throws.
 */
export interface ChrootExtras {
  /**
   * Host folders bound at absolute paths inside the root: read-only (under /run, which is a tmpfs here) unless
   * writable (a shared cache: whatever is written there lands in the host folder, never in the root).
   */
  bind?: readonly { source: string; target: string; writable?: boolean }[];
}

export async function withChroot<T>(
  root: string,
  io: RunOptions,
  fn: (s: ChrootSession) => Promise<T>,
  extras: ChrootExtras = {},
): Promise<T> {
  const mounts = new MountStack(io);
  const policy = join(root, 'usr/sbin/policy-rc.d');
  try {
    await mounts.mount({ source: 'proc', target: join(root, 'proc'), type: 'proc' });
    await mounts.mount({ source: 'sysfs', target: join(root, 'sys'), type: 'sysfs', options: ['ro'] });
    await mounts.mount({ source: '/dev', target: join(root, 'dev'), bind: true });
    await mounts.mount({ source: '/dev/pts', target: join(root, 'dev/pts'), bind: true });
    await mkdir(join(root, 'run'), { recursive: true });
    await mounts.mount({ source: 'tmpfs', target: join(root, 'run'), type: 'tmpfs', options: ['mode=0755'] });
    await bindResolvConf(root, mounts);
    for (const b of extras.bind ?? []) {
      const target = join(root, b.target);
      await mkdir(target, { recursive: true });
      await mounts.mount({ source: b.source, target, bind: true });
      if (!b.writable) await run('mount', ['-o', 'remount,bind,ro', target], { signal: undefined });
    }
    await writeFile(policy, '#!/bin/sh\n# remaster: no service starts while packages are installed\nexit 101\n', { mode: 0o755 });
    const session: ChrootSession = {
      root,
      run: (argv, more = {}) => runInRoot(root, argv, { ...io, ...more, env: { ...io.env, ...more.env } }),
    };
    return await fn(session);
  } finally {
    await mounts.unwind();
    await rm(policy, { force: true });
  }
}

/**
 * Make name resolution work inside the root without writing the host's resolver into it: bind-mount the
 * host file over the root's /etc/resolv.conf (following a symlink into /run, which is a tmpfs here).
 */
async function bindResolvConf(root: string, mounts: MountStack): Promise<void> {
  const target = join(root, 'etc/resolv.conf');
  const st = await lstat(target).catch(() => undefined);
  let dest = target;
  if (st?.isSymbolicLink()) {
    const link = await readlink(target);
    const abs = link.startsWith('/') ? link : join('/etc', link);
    if (!abs.startsWith('/run/')) return; // unusual layout: leave it; apt will fail with a clear error
    dest = join(root, abs);
    await mkdir(join(dest, '..'), { recursive: true });
    await writeFile(dest, '');
  } else if (!st) {
    // No resolv.conf at all: creating one would leave a file in the new layer. apt then resolves nothing
    // and fails with its own clear error (a mirror given by IP address still works).
    return;
  }
  await mounts.mount({ source: '/etc/resolv.conf', target: dest, bind: true });
}
