// Locks on the parts of the shared cache (apt, engine installs, image archives) that several builds write: a build
// waits while another holds the part, says whose turn it is, and fails only after a generous timeout.
//
// The lock is the kernel's (flock(1) on a file, held by a small child process): it goes with the holder however
// that ends, SIGKILL included, and a reused pid can never look like a holder. Next to the lock file, `<lock>.holder`
// names the build that holds it, for the waiting line and the timeout's hint.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InterruptedError, RemasterError } from '../errors.js';

export interface LockOptions {
  /** What the lock guards, for messages ("the apt cache /root/.cache/remaster/apt"). */
  what: string;
  signal?: AbortSignal | undefined;
  /** A line while waiting: at once, then every reportEveryMs. */
  onWait?: ((line: string) => void) | undefined;
  /** Give up after this long (default 30 min: an engine install with slow downloads takes minutes, not half an hour). */
  timeoutMs?: number | undefined;
  reportEveryMs?: number | undefined;
}

export const LOCK_TIMEOUT_MS = 30 * 60 * 1000;

/** Who holds a lock, as its .holder file says (pid and what it is), or undefined when it says nothing usable. */
export async function lockHolder(lockFile: string): Promise<{ pid: number; since: string; command: string } | undefined> {
  const text = await readFile(`${lockFile}.holder`, 'utf8').catch(() => '');
  const [pid, since, ...command] = text.trim().split(' ');
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 ? { pid: n, since: since ?? '', command: command.join(' ') } : undefined;
}

function describeHolder(h: Awaited<ReturnType<typeof lockHolder>>): string {
  if (!h) return 'another process';
  return `pid ${h.pid}${h.command ? ` (${h.command})` : ''}${h.since ? `, holding it since ${h.since}` : ''}`;
}

/** Run fn while holding the exclusive lock lockFile (created with its folder when missing). */
export async function withLock<T>(lockFile: string, o: LockOptions, fn: () => Promise<T>): Promise<T> {
  const held = await acquireLock(lockFile, o);
  try {
    return await fn();
  } finally {
    await held.release();
  }
}

/** A held lock: release() frees it (idempotent). */
export interface HeldLock {
  release(): Promise<void>;
}

/** Take the exclusive lock lockFile, waiting as LockOptions say; the caller must release() it. */
export async function acquireLock(lockFile: string, o: LockOptions): Promise<HeldLock> {
  await mkdir(dirname(lockFile), { recursive: true });
  const timeoutMs = o.timeoutMs ?? LOCK_TIMEOUT_MS;
  const started = Date.now();
  // flock holds the lock for as long as `cat` reads our stdin: it ends when we close the pipe or die. Its own
  // process group keeps a Ctrl-C on the terminal from releasing the lock before our cleanup has run.
  const child = spawn(
    'flock',
    ['--exclusive', '--timeout', String(Math.ceil(timeoutMs / 1000)), lockFile, 'sh', '-c', 'echo locked; exec cat'],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    },
  );
  child.unref();
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const locked = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked\n')) resolve();
    });
    child.once('error', (e) =>
      reject(
        new RemasterError(`cannot lock ${o.what}: flock did not start (${e.message})`, {
          hint: 'install util-linux (flock), which every Debian and Ubuntu system has',
          cause: e,
        }),
      ),
    );
    child.once('exit', async (code) => {
      const holder = await lockHolder(lockFile);
      if (code === 1) {
        reject(
          new RemasterError(`${o.what} is still locked by ${describeHolder(holder)} after ${Math.round(timeoutMs / 60000)} min`, {
            hint: holder
              ? `another remaster build uses the shared cache; if pid ${holder.pid} hangs, stop it (kill ${holder.pid}): the lock goes with it`
              : `a process holds ${lockFile}; find it with fuser ${lockFile}`,
          }),
        );
      } else reject(new RemasterError(`cannot lock ${o.what}: flock exited with ${code}${stderr ? `: ${stderr.trim()}` : ''}`));
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const report = async () => {
    const holder = await lockHolder(lockFile);
    const waited = Math.round((Date.now() - started) / 1000);
    o.onWait?.(`waiting for ${o.what}: in use by ${describeHolder(holder)}; waited ${waited} s`);
  };
  const abort = () => child.kill('SIGKILL');
  o.signal?.addEventListener('abort', abort, { once: true });
  try {
    // A free lock answers within milliseconds: only a wait longer than a second is reported.
    const first = await Promise.race([locked.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 1000))]);
    if (!first) {
      await report();
      timer = setInterval(() => void report(), o.reportEveryMs ?? 10_000);
    }
    await locked;
  } catch (e) {
    child.kill('SIGKILL');
    if (o.signal?.aborted) throw new InterruptedError(`interrupted while waiting for ${o.what}`);
    throw e;
  } finally {
    if (timer) clearInterval(timer);
    o.signal?.removeEventListener('abort', abort);
  }
  const holderFile = `${lockFile}.holder`;
  await writeFile(holderFile, `${process.pid} ${new Date().toISOString()} ${process.argv.slice(1).join(' ').slice(0, 200)}\n`);
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      await rm(holderFile, { force: true });
      await endHolder(child);
    },
  };
}

/** Close flock's stdin (cat ends, flock exits, the lock is free) and wait for it; SIGKILL if it lingers. */
function endHolder(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.stdin?.end();
  });
}

/** The lock file of one part of the shared cache folder: <cacheDir>/locks/<name>.lock. */
export function cacheLockFile(cacheDir: string, name: string): string {
  return join(cacheDir, 'locks', `${name}.lock`);
}
