// Progress that informs: percentages read from the tools' own output, throttled to one line per whole
// percent or per couple of seconds, whichever comes first; never one line per byte.

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

export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

export interface BarProgress {
  done: number;
  total: number;
  pct: number;
}

/**
 * squashfs-tools' progress bar, as mksquashfs (on a terminal) and unsquashfs draw it:
 * "[=====/      ]  2096/10457  20%". done/total count blocks (mksquashfs) or blocks and inodes (unsquashfs).
 */
export function parseSquashfsBar(line: string): BarProgress | undefined {
  const m = /\]\s+(\d+)\/(\d+)\s+(\d+)%\s*$/.exec(line);
  if (!m) return undefined;
  return { done: Number(m[1]), total: Number(m[2]), pct: Number(m[3]) };
}

export interface XorrisoPacifier {
  pct: number;
  /** 2 KiB sectors written so far. */
  sectors: number;
}

/** xorriso's write pacifier: "xorriso : UPDATE : Writing:     116381s   67.7%   fifo 100%  buf  50%  285.4xD". */
export function parseXorrisoPacifier(line: string): XorrisoPacifier | undefined {
  const m = /UPDATE\s*:\s*Writing:\s+(\d+)s\s+([\d.]+)%/.exec(line);
  if (!m) return undefined;
  return { sectors: Number(m[1]), pct: Number(m[2]) };
}

export interface AptStatus {
  /** dlstatus: downloading; pmstatus: unpacking and configuring (dpkg); error: pmerror. */
  kind: 'download' | 'install' | 'error' | 'conffile';
  pct: number;
  /** Package name (pmstatus) or file number (dlstatus). */
  what: string;
  message: string;
}

/**
 * One line of apt's status fd (-o APT::Status-Fd=N): "dlstatus:1:42.5000:Retrieving file 3 of 30",
 * "pmstatus:zstd:20.0000:Unpacking zstd (amd64)". Each phase runs from 0 to 100 on its own.
 */
export function parseAptStatus(line: string): AptStatus | undefined {
  const m = /^(dlstatus|pmstatus|pmerror|pmconffile):([^:]*):([\d.]+):(.*)$/.exec(line.trim());
  if (!m) return undefined;
  const kinds = { dlstatus: 'download', pmstatus: 'install', pmerror: 'error', pmconffile: 'conffile' } as const;
  return { kind: kinds[m[1] as keyof typeof kinds], what: m[2] ?? '', pct: Number(m[3]), message: m[4] ?? '' };
}

/**
 * Package progress of `dpkg -i --status-fd N` over a known number of packages: each package counts once
 * when unpacked ("processing: install: pkg" / "upgrade") and once when configured ("processing: configure").
 */
export class DpkgProgress {
  private readonly seen = new Set<string>();

  constructor(private readonly packages: number) {}

  /** Feed one status line; returns the new state when it moved. */
  feed(line: string): { pct: number; action: string; pkg: string } | undefined {
    const m = /^processing:\s*(install|upgrade|configure):\s*(\S+)/.exec(line.trim());
    if (!m || this.packages <= 0) return undefined;
    const action = m[1] === 'configure' ? 'configure' : 'unpack';
    const pkg = m[2] ?? '';
    const key = `${action} ${pkg}`;
    if (this.seen.has(key)) return undefined;
    this.seen.add(key);
    return { pct: Math.min(100, (this.seen.size / (2 * this.packages)) * 100), action, pkg };
  }
}

/**
 * Progress lines for apt's status fd: download and install are separate phases with their own percentages,
 * each throttled. Returns the function to give RunOptions.onStatusLine.
 */
export function aptProgress(emit: (text: string) => void, label: string, o: ThrottleOptions = {}): (line: string) => void {
  const download = new Throttle(emit, o);
  const install = new Throttle(emit, o);
  return (line) => {
    const s = parseAptStatus(line);
    if (!s) return;
    if (s.kind === 'download') download.report(s.pct, `${label}: download ${pctText(s.pct)} (${s.message})`);
    else if (s.kind === 'install') install.report(s.pct, `${label}: install ${pctText(s.pct)} (${s.message})`);
    else if (s.kind === 'error') emit(`${label}: ${s.what}: ${s.message}`);
  };
}

/** onLine for squashfs-tools: bar lines become throttled percentages (and are swallowed); others pass. */
export function squashfsProgress(emit: (text: string) => void, label: string, o: ThrottleOptions = {}): (line: string) => boolean {
  const t = new Throttle(emit, o);
  return (line) => {
    const bar = parseSquashfsBar(line);
    if (!bar) return false;
    t.report(bar.pct, `${label}: ${pctText(bar.pct)} (${bar.done}/${bar.total} blocks)`);
    return true;
  };
}

/** onLine for xorriso: the write pacifier becomes a throttled percentage. */
export function xorrisoProgress(emit: (text: string) => void, label: string, o: ThrottleOptions = {}): (line: string) => boolean {
  const t = new Throttle(emit, o);
  return (line) => {
    const p = parseXorrisoPacifier(line);
    if (!p) return false;
    t.report(p.pct, `${label}: ${pctText(p.pct)} (${mib(p.sectors * 2048)})`);
    return true;
  };
}
