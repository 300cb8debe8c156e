// Progress that informs: a percentage read from a tool's own output becomes a line per whole percent or per couple
// of seconds, whichever comes first; never one line per byte. The tools' parsers live beside their wrappers.

/**
 * Report a percentage (0-100) when it moved by at least minStep (1) and minGapMs (250) passed since the last
 * line, or when intervalMs (2000) passed and the line changed; 100 always shows. A 2 MB image compressed in
 * 50 ms gives two lines, not a hundred.
 */
export interface ThrottleOptions {
  minStep?: number;
  minGapMs?: number;
  intervalMs?: number;
  /** Milliseconds clock (tests). */
  now?: () => number;
}

export class Throttle {
  private lastPct = Number.NEGATIVE_INFINITY;
  private lastAt = Number.NEGATIVE_INFINITY;
  private lastText = '';

  constructor(
    private readonly emit: (text: string) => void,
    private readonly o: ThrottleOptions = {},
  ) {}

  /** pct: the new value; text: the line to show (emitted only when the throttle lets it through). */
  report(pct: number, text: string): boolean {
    const now = (this.o.now ?? performance.now.bind(performance))();
    const since = now - this.lastAt;
    const stepped = Math.abs(pct - this.lastPct) >= (this.o.minStep ?? 1) && since >= (this.o.minGapMs ?? 250);
    const due = since >= (this.o.intervalMs ?? 2000) && text !== this.lastText;
    const done = pct >= 100 && this.lastPct < 100;
    if (!done && !stepped && !due) return false;
    this.lastPct = pct;
    this.lastAt = now;
    this.lastText = text;
    this.emit(text);
    return true;
  }
}

/** "12 %" with no more precision than the tools give, for progress lines. */
export function pctText(pct: number): string {
  return `${Math.floor(Math.min(100, Math.max(0, pct)))} %`;
}
