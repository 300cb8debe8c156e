// The boot watcher as an explicit state machine: fed what the console, the firmware log and the report port showed
// since the last look (and the clock), it moves between states and says what to do: a progress line, a screenshot,
// the Enter key at the boot menu, a power cut, quitting QEMU. It does no I/O itself, so it is tested on captured
// serial logs with a fake clock; launch.ts carries out its actions.
import type { Accel } from './accel.js';
import { type DiagnosisKind, diagnoseDetail, FATAL_KINDS, loaderStuck } from './diagnose.js';
import { type Phase, PhaseTracker, phaseLabel, stripTerminalCodes } from './phases.js';

/**
 * When to take the boot-menu screenshot, per accelerator: a little after a menu shows up on the serial console
 * (GRUB and isolinux's menu.c32 draw it there), else after the firmware hands over to the boot loader, else a fixed
 * time after the firmware's first output (or QEMU's start). Menus count down from 3 s; the delays stay inside that.
 */
export const MENU_SHOT: Record<Accel, { afterMenuMs: number; afterBootloaderMs: number; fallbackMs: number }> = {
  kvm: { afterMenuMs: 500, afterBootloaderMs: 1500, fallbackMs: 3000 },
  tcg: { afterMenuMs: 1200, afterBootloaderMs: 3000, fallbackMs: 8000 },
};

/** How long a fatal console state must persist, with no new phase, before the boot is given up. */
export const FATAL_SETTLE_MS: Record<Accel, number> = { kvm: 5000, tcg: 15_000 };

/** Interval of the "in <phase>, N s elapsed" lines during a boot. */
export const HEARTBEAT_MS = 5000;

/** The fatal-state check reads the whole console: every fourth look is often enough. */
const FATAL_CHECK_EVERY = 4;

/**
 * Whether to take the boot-menu screenshot now: 'now', 'wait', or 'missed' once the kernel is already running
 * (the menu is gone, and a picture of kernel messages named boot-menu.png would mislead).
 */
export function menuShotDecision(
  nowMs: number,
  seen: {
    firmwareAtMs?: number | undefined;
    menuAtMs?: number | undefined;
    bootloaderAtMs?: number | undefined;
    kernelSeen: boolean;
  },
  accel: Accel,
): 'now' | 'wait' | 'missed' {
  if (seen.kernelSeen) return 'missed';
  const t = MENU_SHOT[accel];
  let due = (seen.firmwareAtMs ?? 0) + t.fallbackMs;
  if (seen.menuAtMs !== undefined) due = seen.menuAtMs + t.afterMenuMs;
  else if (seen.bootloaderAtMs !== undefined) due = seen.bootloaderAtMs + t.afterBootloaderMs;
  return nowMs >= due ? 'now' : 'wait';
}

export interface WatchOptions {
  accel: Accel;
  /** From QEMU start to the guest's complete report. */
  timeoutMs: number;
  /** How long to wait for the guest to power off after its report. */
  powerOffGraceMs: number;
  /** Give up early on a console failure the guest cannot recover from (default true). */
  stopOnFatal?: boolean | undefined;
  /** Press Enter once the boot menu has been captured, instead of waiting out its timeout. */
  pressEnterAtMenu?: boolean | undefined;
  /** The boot passes a boot menu worth a picture (default true; a kernel started directly has none). */
  bootMenu?: boolean | undefined;
  /** Cut the power afterMs after the console first shows a line matching `when`. */
  powerCut?: { when: RegExp; afterMs: number } | undefined;
  /**
   * What the boot is waiting for: the guest's report (a live or installed system), or the guest powering off by
   * itself (an installer at its end). In poweroff mode the deadline covers the whole run and no report is awaited.
   */
  until?: 'report' | 'poweroff' | undefined;
  /**
   * poweroff mode: the question the console waits on, when it shows one (an installer asking what it was not told).
   * With no output on either log for STALL_MS after it, watching ends as stuck.
   */
  waitingOn?: ((console: string) => string | undefined) | undefined;
  /**
   * What of the console counts as output for the stall check (default: every byte). d-i's screen multiplexer redraws
   * its clock every minute, which is no progress: a console stopped on a question kept a run alive for its timeout.
   */
  consoleText?: ((console: string) => string) | undefined;
  /**
   * The step the auxiliary log last names (an installer's current component, from its syslog), shown in the progress
   * lines: an install spends half an hour "in kernel" otherwise.
   */
  auxStep?: ((aux: string) => string | undefined) | undefined;
}

/** How long a console showing a question may stay silent (and its auxiliary log too) before the run counts as stuck. */
export const STALL_MS: Record<Accel, number> = { kvm: 60_000, tcg: 240_000 };

/** What the watcher saw since the last look. */
export interface WatchInput {
  /** Milliseconds since QEMU started. */
  nowMs: number;
  /** Text appended to the firmware log and to the serial console since the last look. */
  firmware: string;
  serial: string;
  /** Text appended to an auxiliary log (an installer's syslog on the second serial port); progress, not phases. */
  aux?: string | undefined;
  /** The report port holds a complete report. */
  reportComplete: boolean;
  /** QEMU is gone (the guest powered off, or QEMU failed). */
  exited: boolean;
}

export type WatchAction =
  | { kind: 'say'; line: string }
  | { kind: 'screenshot'; which: 'boot-menu' | 'final' }
  | { kind: 'press-enter' }
  /** Kill QEMU at once: the guest gets no shutdown. */
  | { kind: 'cut-power' }
  /** Ask QEMU to quit (the boot is over for us). */
  | { kind: 'stop' };

/**
 * booting: waiting for the report (taking the menu picture on the way); reported: waiting for the guest to power
 * off; ended: nothing more to do (see `end`).
 */
export type WatchState = 'booting' | 'reported' | 'ended';

/** Why watching ended. */
export type WatchEnd =
  | { why: 'exited' }
  | { why: 'power-cut'; atMs: number; line: string }
  | { why: 'no-power-off' }
  | { why: 'fatal'; kind: DiagnosisKind; sinceMs: number }
  | { why: 'stuck'; question: string; sinceMs: number }
  | { why: 'timeout' };

export class BootWatch {
  state: WatchState = 'booting';
  end: WatchEnd | undefined;
  readonly tracker: PhaseTracker;
  reportedAtMs: number | undefined;
  private menuShot: 'pending' | 'done' | 'skipped' = 'pending';
  private finalShot = false;
  private beatAtMs = 0;
  private looks = 0;
  /** The step the auxiliary log last named (WatchOptions.auxStep). */
  private auxStep: string | undefined;
  private fatal: { kind: DiagnosisKind; sinceMs: number; phases: number } | undefined;
  private cutLine: { line: string; seenAtMs: number } | undefined;
  /** The serial console's unterminated last line, while a power cut waits for its line. */
  private cutPartial = '';
  private firmwareText = '';
  private serialText = '';
  private lastOutputAtMs = 0;
  private consoleLength = 0;
  private pending: WatchAction[] = [];

  constructor(private readonly o: WatchOptions) {
    if (o.bootMenu === false) this.menuShot = 'skipped';
    this.tracker = new PhaseTracker((p: Phase) => {
      this.beatAtMs = p.atMs;
      this.say(`${phaseLabel(p.name)} reached after ${secs(p.atMs)} s`);
    });
  }

  /** Watching is over (see `end`). */
  get done(): boolean {
    return this.state === 'ended';
  }

  private noteConsole(now: number): void {
    if (!this.o.consoleText) {
      this.lastOutputAtMs = now;
      return;
    }
    const length = this.o.consoleText(this.serialText).length;
    if (length !== this.consoleLength) {
      this.consoleLength = length;
      this.lastOutputAtMs = now;
    }
  }

  /** Everything the firmware log and the serial console showed so far, as the diagnosis reads it. */
  get console(): string {
    return `${this.firmwareText}\n${this.serialText}`;
  }

  /** Take one look: update the state, return what to do now. */
  step(input: WatchInput): WatchAction[] {
    if (this.state === 'ended') return [];
    const now = input.nowMs;
    this.looks += 1;
    this.tracker.feed('firmware', input.firmware, now);
    this.tracker.feed('serial', input.serial, now);
    this.firmwareText += input.firmware;
    this.serialText += input.serial;
    if (input.firmware || input.aux) this.lastOutputAtMs = now;
    if (input.aux && this.o.auxStep) this.auxStep = this.o.auxStep(input.aux) ?? this.auxStep;
    if (input.serial) this.noteConsole(now);
    if (this.o.powerCut && !this.cutLine && input.serial) this.watchForCut(input.serial, now);
    if (this.reportedAtMs === undefined && input.reportComplete) {
      this.reportedAtMs = now;
      this.tracker.mark('reported', now);
      this.state = 'reported';
    }
    if (input.exited) return this.finish({ why: 'exited' });
    this.heartbeat(now);

    if (this.cutLine && now - this.cutLine.seenAtMs >= (this.o.powerCut?.afterMs ?? 0)) {
      this.say(`cutting the power after ${secs(now)} s (${secs(now - this.cutLine.seenAtMs)} s after "${this.cutLine.line}")`);
      this.pending.push({ kind: 'screenshot', which: 'final' }, { kind: 'cut-power' });
      return this.finish({ why: 'power-cut', atMs: Math.round(now), line: this.cutLine.line });
    }
    if (this.menuShot === 'pending') this.considerMenuShot(now);

    if (this.state === 'reported') {
      if (!this.finalShot) {
        this.finalShot = true;
        this.say(`report complete after ${secs(this.reportedAtMs ?? now)} s; waiting for the guest to power off`);
        this.pending.push({ kind: 'screenshot', which: 'final' });
      }
      if (now - (this.reportedAtMs ?? now) > this.o.powerOffGraceMs) {
        this.say(`the guest did not power off within ${secs(this.o.powerOffGraceMs)} s of its report; quitting QEMU`);
        this.pending.push({ kind: 'stop' });
        return this.finish({ why: 'no-power-off' });
      }
      return this.flush();
    }
    if (this.o.until === 'poweroff' && this.o.waitingOn && now - this.lastOutputAtMs >= STALL_MS[this.o.accel]) {
      const question = this.o.waitingOn(this.serialText);
      if (question !== undefined) {
        this.say(
          `giving up after ${secs(now)} s: the console waits for an answer (${question}) and nothing moved for ${secs(now - this.lastOutputAtMs)} s`,
        );
        this.pending.push({ kind: 'screenshot', which: 'final' }, { kind: 'stop' });
        return this.finish({ why: 'stuck', question, sinceMs: Math.round(this.lastOutputAtMs) });
      }
    }
    if (this.o.stopOnFatal !== false && this.looks % FATAL_CHECK_EVERY === 0) {
      const fatal = this.checkFatal(now);
      if (fatal) return fatal;
    }
    if (now >= this.o.timeoutMs) {
      this.say(
        this.o.until === 'poweroff'
          ? `still running after ${secs(now)} s; taking a last screenshot and quitting QEMU`
          : `no report after ${secs(now)} s; taking a last screenshot and quitting QEMU`,
      );
      this.pending.push({ kind: 'screenshot', which: 'final' }, { kind: 'stop' });
      return this.finish({ why: 'timeout' });
    }
    return this.flush();
  }

  private watchForCut(serial: string, now: number): void {
    // Only what arrived since the last look (plus the line it continues) is searched.
    const lines = (this.cutPartial + serial).split('\n');
    this.cutPartial = (lines.pop() ?? '').slice(-4096);
    const line = [...lines, this.cutPartial].map(stripTerminalCodes).find((l) => this.o.powerCut?.when.test(l));
    if (line !== undefined) this.cutLine = { line: line.trim(), seenAtMs: now };
  }

  private heartbeat(now: number): void {
    if (now - this.beatAtMs < HEARTBEAT_MS) return;
    this.beatAtMs = now;
    const last = this.tracker.lastPhase();
    const step = this.auxStep ? ` (${this.auxStep})` : '';
    this.say(`${last ? `in ${phaseLabel(last)}` : 'starting'}${step}, ${Math.round(now / 1000)} s elapsed`);
  }

  private considerMenuShot(now: number): void {
    const decision = menuShotDecision(
      now,
      {
        firmwareAtMs: this.tracker.get('firmware')?.atMs,
        menuAtMs: this.tracker.menuSeenAtMs,
        bootloaderAtMs: this.tracker.get('bootloader')?.atMs,
        kernelSeen: this.tracker.has('kernel'),
      },
      this.o.accel,
    );
    if (decision === 'missed') {
      this.menuShot = 'skipped';
      this.say('boot menu not captured: the kernel was already running');
    } else if (decision === 'now') {
      this.menuShot = 'done';
      this.pending.push({ kind: 'screenshot', which: 'boot-menu' });
      if (this.o.pressEnterAtMenu) this.pending.push({ kind: 'press-enter' });
    }
  }

  /** A failure the guest cannot recover from, seen long enough with no new phase: give up now. */
  private checkFatal(now: number): WatchAction[] | undefined {
    const d = diagnoseDetail(this.console);
    // A GRUB error line alone is not final: GRUB goes on to load the kernel, which may stay silent for a while.
    if (!d || !FATAL_KINDS.has(d.kind) || (d.kind === 'bootloader-error' && !loaderStuck(this.console))) {
      this.fatal = undefined;
      return undefined;
    }
    const phases = this.tracker.phases.length;
    if (!this.fatal || this.fatal.kind !== d.kind || this.fatal.phases !== phases) {
      this.fatal = { kind: d.kind, sinceMs: now, phases };
      return undefined;
    }
    if (now - this.fatal.sinceMs < FATAL_SETTLE_MS[this.o.accel]) return undefined;
    this.say(`giving up after ${secs(now)} s: ${d.kind} (seen since ${secs(this.fatal.sinceMs)} s, no progress since)`);
    this.pending.push({ kind: 'screenshot', which: 'final' }, { kind: 'stop' });
    return this.finish({ why: 'fatal', kind: d.kind, sinceMs: Math.round(this.fatal.sinceMs) });
  }

  private say(line: string): void {
    this.pending.push({ kind: 'say', line });
  }

  private finish(end: WatchEnd): WatchAction[] {
    this.state = 'ended';
    this.end = end;
    return this.flush();
  }

  private flush(): WatchAction[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }
}

export function secs(ms: number): string {
  return (ms / 1000).toFixed(1);
}
