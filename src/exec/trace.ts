// --verbose: every external command line and the tools' own output, for whoever runs the current stage.
// The trace rides on AsyncLocalStorage, so run() reports to the stage that called it without threading an
// option through every wrapper; with no trace active nothing is recorded.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface CommandTrace {
  /** A tool is about to start: its argv, secrets already masked. */
  command(argv: readonly string[]): void;
  /** One line the tool printed (progress lines a stage turns into percentages are not repeated here). */
  line(text: string, stream: 'stdout' | 'stderr'): void;
}

const store = new AsyncLocalStorage<CommandTrace>();

export function withTrace<T>(trace: CommandTrace | undefined, fn: () => Promise<T>): Promise<T> {
  return trace ? store.run(trace, fn) : fn();
}

export function currentTrace(): CommandTrace | undefined {
  return store.getStore();
}

const SECRET_FLAG = /^--?(?:src-|dest-)?(?:creds|password|passwd|token|registry-token|secret)$/i;
const SECRET_ASSIGN = /^(--?(?:src-|dest-)?(?:creds|password|passwd|token|registry-token|secret)=)(.*)$/i;
const URL_USERINFO = /(\w+:\/\/[^/\s:@]+):[^/\s@]+@/g;

/**
 * argv as it may be shown or logged: values of credential flags and passwords in URLs are masked. remaster
 * itself never puts credentials in argv (registry logins go through a private auth file), this is the net
 * under that rule for user-supplied sources.
 */
export function maskSecrets(argv: readonly string[]): string[] {
  const out: string[] = [];
  let maskNext = false;
  for (const a of argv) {
    if (maskNext) {
      out.push('***');
      maskNext = false;
      continue;
    }
    if (SECRET_FLAG.test(a)) {
      out.push(a);
      maskNext = true;
      continue;
    }
    const assign = SECRET_ASSIGN.exec(a);
    out.push(assign ? `${assign[1]}***` : a.replace(URL_USERINFO, '$1:***@'));
  }
  return out;
}

/** Splits a byte stream into lines on \n, and also on \r when asked (progress bars redraw with \r). */
export class LineSplitter {
  private carry = '';
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly splitOnCr = false,
  ) {}

  push(chunk: Uint8Array | string): void {
    const text = this.carry + (typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
    const parts = text.split(this.splitOnCr ? /\r\n|\r|\n/ : /\r?\n/);
    this.carry = parts.pop() ?? '';
    // Keep a runaway unterminated line bounded.
    if (this.carry.length > 64 * 1024) this.carry = this.carry.slice(-64 * 1024);
    for (const p of parts) this.onLine(p);
  }

  end(): void {
    const rest = this.carry + this.decoder.decode();
    this.carry = '';
    if (rest) this.onLine(rest);
  }
}
