// The one wrapper around execa: argv arrays only, cancellation, errors that carry the tool's stderr tail.
import { execa, type ResultPromise } from 'execa';
import { InterruptedError, ToolError } from '../errors.js';

export interface RunOptions {
  /** Cancels the child (SIGTERM, then SIGKILL after 5 s). */
  signal?: AbortSignal | undefined;
  cwd?: string | undefined;
  env?: Record<string, string | undefined> | undefined;
  /** Bytes or a file path fed to stdin. */
  input?: string | Buffer | undefined;
  inputFile?: string | undefined;
  /** Each line of stdout and stderr as it arrives (progress, logs). */
  onLine?: ((line: string, stream: 'stdout' | 'stderr') => void) | undefined;
  /** Exit codes that count as success (default [0]). */
  okCodes?: readonly number[] | undefined;
  /** Variables removed from the inherited environment. */
  unsetEnv?: readonly string[] | undefined;
  /** Hint shown when the tool fails. */
  hint?: string | undefined;
  timeoutMs?: number | undefined;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** apt package that provides each tool we call, for "install it" hints. */
export const toolPackages: Record<string, string> = {
  xorriso: 'xorriso',
  mksquashfs: 'squashfs-tools',
  unsquashfs: 'squashfs-tools',
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  zstd: 'zstd',
  skopeo: 'skopeo',
  debootstrap: 'debootstrap',
  mount: 'mount',
  umount: 'mount',
  chroot: 'coreutils',
  'grub-mkstandalone': 'grub-common grub-efi-amd64-bin',
  'mkfs.vfat': 'dosfstools',
  mcopy: 'mtools',
  mmd: 'mtools',
  xz: 'xz-utils',
  getfattr: 'attr',
  setfattr: 'attr',
};

export function quoteArgv(argv: readonly string[], max = Number.POSITIVE_INFINITY): string {
  const text = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
  return text.length > max ? `${text.slice(0, max)} ... (${argv.length} arguments)` : text;
}

function tail(text: string, lines = 12): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Start a tool in its own process group, so cancelling stops it and everything it started (apt's dpkg,
 * a shell's children): SIGTERM to the group, SIGKILL 5 s later if anything is left.
 */
export function spawn(file: string, args: readonly string[], o: RunOptions = {}): ResultPromise {
  const child = execa(file, args, {
    detached: true,
    cwd: o.cwd,
    ...(o.unsetEnv ? { env: withoutKeys({ ...process.env, ...o.env }, o.unsetEnv), extendEnv: false } : { env: o.env, extendEnv: true }),
    stripFinalNewline: false,
    ...(o.input === undefined ? {} : { input: o.input }),
    ...(o.inputFile === undefined ? {} : { inputFile: o.inputFile }),
    ...(o.timeoutMs === undefined ? {} : { timeout: o.timeoutMs }),
    reject: false,
    all: false,
    buffer: true,
    maxBuffer: 64 * 1024 * 1024,
    ...(o.onLine
      ? {
          stdout: [
            function* (line: unknown) {
              o.onLine?.(String(line), 'stdout');
              yield line;
            },
          ],
          stderr: [
            function* (line: unknown) {
              o.onLine?.(String(line), 'stderr');
              yield line;
            },
          ],
        }
      : {}),
  } as never) as ResultPromise;
  const signal = o.signal;
  if (signal) {
    const kill = () => {
      const pid = child.pid;
      if (pid === undefined) return;
      const group = (sig: NodeJS.Signals) => {
        try {
          process.kill(-pid, sig);
        } catch {}
      };
      group('SIGTERM');
      const t = setTimeout(() => group('SIGKILL'), 5000);
      t.unref();
      child.finally(() => clearTimeout(t)).catch(() => {});
    };
    if (signal.aborted) kill();
    else {
      signal.addEventListener('abort', kill, { once: true });
      child.finally(() => signal.removeEventListener('abort', kill)).catch(() => {});
    }
  }
  return child;
}

/** Run a tool to completion; throw a ToolError (or InterruptedError) unless it exits with an ok code. */
export async function run(file: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  const argv = [file, ...args];
  const r = await spawn(file, args, o);
  const stdout = toText(r.stdout);
  const stderr = toText(r.stderr);
  if (o.signal?.aborted) {
    throw new InterruptedError(`interrupted while running ${file}`);
  }
  const code = r.exitCode;
  const ok = o.okCodes ?? [0];
  if (code !== undefined && ok.includes(code)) return { stdout, stderr, exitCode: code };
  const errno = (r.cause as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'ENOENT') {
    const pkg = toolPackages[file];
    throw new ToolError(`${file} is not installed (needed to run: ${quoteArgv(argv)})`, file, '', {
      hint: pkg ? `install it: apt-get install ${pkg}` : `install ${file} and make sure it is on PATH`,
    });
  }
  const why = r.timedOut ? `timed out after ${o.timeoutMs} ms` : r.signal ? `was killed by ${r.signal}` : `exited with code ${code}`;
  const stderrTail = tail(stderr || stdout);
  throw new ToolError(`${file} ${why}: ${quoteArgv(argv, 300)}${stderrTail ? `\n${indent(stderrTail)}` : ''}`, file, stderrTail, {
    hint: o.hint,
    cause: r,
  });
}

function withoutKeys(env: Record<string, string | undefined>, keys: readonly string[]): Record<string, string | undefined> {
  const out = { ...env };
  for (const k of keys) delete out[k];
  return out;
}

function toText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.join('\n');
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  return '';
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
