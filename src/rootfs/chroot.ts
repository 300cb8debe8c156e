// Run commands inside a root filesystem: proc/sys/dev bound, services forbidden to start, every mount undone.
import { lstat, mkdir, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type RunOptions, type RunResult, run } from '../exec/run.js';
import { MountStack } from './mounts.js';

/**
 * The environment of every command run inside a root, over the host's. Temporary-folder variables name host paths
 * that do not exist inside the root (package scripts calling mktemp then fail: apparmor's postinst did, under a
 * test run's TMPDIR): TMPDIR is the root's /tmp, TMP and TEMP are dropped (CHROOT_UNSET).
 */
export const CHROOT_ENV = {
  TMPDIR: '/tmp',
  DEBIAN_FRONTEND: 'noninteractive',
  DEBCONF_NONINTERACTIVE_SEEN: 'true',
  LC_ALL: 'C.UTF-8',
  LANG: 'C.UTF-8',
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
};

export const CHROOT_UNSET = ['TMP', 'TEMP', 'TEMPDIR'];

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
      run: (argv, more = {}) =>
        run('chroot', [root, ...argv], {
          ...io,
          ...more,
          env: { ...CHROOT_ENV, ...more.env },
          unsetEnv: [...CHROOT_UNSET, ...(more.unsetEnv ?? [])],
        }),
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
