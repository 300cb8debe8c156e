// The one wrapper around execa: argv arrays only, cancellation, errors that carry the tool's stderr tail.
import { execa, type ResultPromise } from 'execa';
import { InterruptedError, ToolError } from '../errors.js';
import { toolPackage } from './tools.js';
import { currentTrace, LineSplitter, maskSecrets } from './trace.js';
import { indent } from '../util/format.js';

export interface RunOptions {
  /** Cancels the child (SIGTERM, then SIGKILL after 5 s). */
  signal?: AbortSignal | undefined;
  cwd?: string | undefined;
  env?: Record<string, string | undefined> | undefined;
  /** Bytes or a file path fed to stdin. */
  input?: string | Buffer | undefined;
  inputFile?: string | undefined;
  /**
   * Each line of stdout and stderr as it arrives (progress, logs). Return true when the line was turned into a
   * progress report: --verbose then does not repeat it.
   */
  onLine?: ((line: string, stream: 'stdout' | 'stderr') => unknown) | undefined;
  /** Lines end at \r too (tools that redraw a progress bar with \r and no newline: unsquashfs). */
  crLines?: boolean | undefined;
  /**
   * Run the tool on a pseudo-terminal (util-linux script): mksquashfs draws its progress bar only on a terminal.
   * Implies crLines; stderr arrives merged into stdout.
   */
  tty?: boolean | undefined;
  /** A pipe on the child's fd 3, line by line: apt's -o APT::Status-Fd=3, dpkg's --status-fd 3. */
  onStatusLine?: ((line: string) => void) | undefined;
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

export function quoteArgv(argv: readonly string[], max = Number.POSITIVE_INFINITY): string {
  const text = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
  return text.length > max ? `${text.slice(0, max)} ... (${argv.length} arguments)` : text;
}

/** Text as a terminal would leave it: of a line redrawn with \r, only the last drawing. */
function lastRedraws(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.split('\r').pop() ?? '')
    .join('\n');
}

function tail(text: string, lines = 12): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Start a tool in its own process group, so cancelling stops it and everything it started (apt's dpkg,
 * a shell's children): SIGTERM to the group, SIGKILL 5 s later if anything is left.
 */
export function spawn(file: string, args: readonly string[], o: RunOptions = {}): ResultPromise {
  const trace = currentTrace();
  trace?.command(maskSecrets([file, ...args]));
  const observe = (stream: 'stdout' | 'stderr') => {
    if (!o.onLine && !trace) return undefined;
    const splitter = new LineSplitter(
      (line) => {
        const consumed = o.onLine?.(line, stream) === true;
        if (!consumed && trace && line.trim()) trace.line(line, stream);
      },
      o.crLines === true || o.tty === true,
    );
    // A binary pass-through: the child's bytes reach the result unchanged, lines are only observed.
    return [
      {
        *transform(chunk: unknown) {
          splitter.push(chunk as Uint8Array);
          yield chunk;
        },
        *final() {
          splitter.end();
          yield* [];
        },
        binary: true,
      },
    ];
  };
  const status = o.onStatusLine && new LineSplitter(o.onStatusLine);
  const fd3 = status && [
    {
      *transform(chunk: unknown) {
        status.push(chunk as Uint8Array);
        yield chunk;
      },
      *final() {
        status.end();
        yield* [];
      },
      binary: true,
    },
  ];
  const stdout = observe('stdout');
  const stderr = observe('stderr');
  // On a terminal through script(1): -e keeps the tool's exit code; SIGTERM to script ends the tool too.
  const [cmd, argv] = o.tty
    ? ['script', ['-qec', `stty cols 100 2>/dev/null; exec ${quoteArgv([file, ...args])}`, '/dev/null']]
    : [file, args];
  const env = o.tty ? { ...o.env, SHELL: '/bin/sh' } : o.env;
  const child = execa(cmd, argv, {
    detached: true,
    cwd: o.cwd,
    // Registry credentials never reach a tool (nor a package script in a chroot): skopeo gets an auth file.
    env: withoutKeys({ ...process.env, ...env }, [...SECRET_ENV, ...(o.unsetEnv ?? [])]),
    extendEnv: false,
    stripFinalNewline: false,
    ...(o.input === undefined ? {} : { input: o.input }),
    ...(o.inputFile === undefined ? {} : { inputFile: o.inputFile }),
    ...(o.timeoutMs === undefined ? {} : { timeout: o.timeoutMs }),
    reject: false,
    all: false,
    buffer: true,
    maxBuffer: 64 * 1024 * 1024,
    ...(fd3
      ? { stdio: [o.tty ? 'ignore' : 'pipe', stdout ?? 'pipe', stderr ?? 'pipe', fd3] }
      : {
          ...(o.tty ? { stdin: 'ignore' } : {}),
          ...(stdout ? { stdout } : {}),
          ...(stderr ? { stderr } : {}),
        }),
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
  const missingUnderTty = o.tty === true && code === 127 && /not found/.test(stdout);
  if (errno === 'ENOENT' || missingUnderTty) {
    // With tty, ENOENT is about script(1) itself; the tool missing shows as the shell's 127.
    const missing = o.tty && errno === 'ENOENT' ? 'script' : file;
    const pkg = toolPackage(missing);
    throw new ToolError(`${missing} is not installed (needed to run: ${quoteArgv(maskSecrets(argv))})`, missing, '', {
      hint: pkg ? `install it: apt-get install ${pkg}` : `install ${missing} and make sure it is on PATH`,
    });
  }
  const why = r.timedOut ? `timed out after ${o.timeoutMs} ms` : r.signal ? `was killed by ${r.signal}` : `exited with code ${code}`;
  const stderrTail = tail(lastRedraws(stderr || stdout));
  throw new ToolError(
    `${file} ${why}: ${quoteArgv(maskSecrets(argv), 300)}${stderrTail ? `\n${indent(stderrTail)}` : ''}`,
    file,
    stderrTail,
    {
      hint: o.hint,
      cause: r,
    },
  );
}

/** Environment variables that carry credentials. */
export const SECRET_ENV = ['REMASTER_REGISTRY_USER', 'REMASTER_REGISTRY_PASSWORD'];

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
