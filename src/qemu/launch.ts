// Boots an ISO in QEMU, watches it through serial/firmware logs and QMP, and collects the guest's report.
import { mkdir, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { InterruptedError, type RemasterError, ToolError, UsageError } from '../errors.js';
import { quoteArgv, spawn } from '../exec/run.js';
import { type Accel, QEMU_BINARY, timeoutScale } from './accel.js';
import { type BootMedia, bootPaths, DEFAULT_REPORT_PORT, qemuArgs } from './args.js';
import { type DiagnosisKind, diagnoseDetail, FATAL_KINDS } from './diagnose.js';
import { type FirmwareKind, prepareFirmware } from './firmware.js';
import { type Phase, PhaseTracker, phaseLabel, stripTerminalCodes } from './phases.js';
import { QmpClient } from './qmp.js';
import { type GuestReport, parseGuestReport } from './report.js';

export { qemuArgs } from './args.js';
export { diagnose } from './diagnose.js';

export interface BootOptions {
  iso: string;
  firmware: FirmwareKind;
  /** Default cdrom; usb = the hybrid image as a read-only usb-storage disk on an xHCI controller. */
  media?: BootMedia;
  accel: Accel;
  /** Default 2048. */
  memoryMiB?: number;
  /** Default 2. */
  cpus?: number;
  /** From QEMU start to the report's `end` line. */
  timeoutMs: number;
  /** serial.log, firmware.log, report.txt, screenshots, the QMP socket and the OVMF vars copy go here. */
  workDir: string;
  /** virtio-serial port name, default 'org.remaster.report'. */
  reportPort?: string;
  signal?: AbortSignal;
  /** Progress lines: QEMU start, each phase as it is reached, screenshots, the end. */
  onLine?: (line: string) => void;
  /** Press Enter once the boot menu has been captured, instead of waiting out its timeout. */
  pressEnterAtMenu?: boolean;
  /** Where to look for OVMF (defaults to the usual system directories). */
  firmwareRoots?: readonly string[];
  /** How long to wait for the guest to power off after its report (default 20 s x timeoutScale). */
  powerOffGraceMs?: number;
  /**
   * Stop before the timeout when the console shows a failure the guest cannot recover from (no bootable device,
   * boot loader error, root not found, kernel panic) and no further phase follows for FATAL_SETTLE_MS. Default true.
   */
  stopOnFatal?: boolean;
  /** Raw disk images attached writable as virtio disks (a store device). */
  disks?: readonly string[];
  /**
   * Cut the power (QEMU quits at once: the guest gets no shutdown) afterMs after the serial console first shows a
   * line matching `when`. The outcome is then 'power-cut'.
   */
  powerCut?: { when: RegExp; afterMs: number };
}

/**
 * 'timeout' means we stopped waiting for a report: the deadline passed, or (see stoppedEarly) the console showed a
 * failure the guest cannot recover from.
 */
export type BootOutcome = 'reported' | 'timeout' | 'exited-without-report' | 'power-cut';

export interface BootResult {
  outcome: BootOutcome;
  report?: GuestReport;
  reportText: string;
  serialLogPath: string;
  /** SeaBIOS's debug log (empty under OVMF). */
  firmwareLogPath: string;
  reportPath: string;
  /** PNG files actually written: boot-menu.png, final.png. */
  screenshots: string[];
  secondsToReport?: number;
  durationMs: number;
  accel: Accel;
  firmware: FirmwareKind;
  media: BootMedia;
  phases: Phase[];
  /** Plain words for the usual failures; absent when the report arrived and the loader succeeded. */
  diagnosis?: string;
  diagnosisKind?: DiagnosisKind;
  /** Set when the boot was given up before the timeout because of a fatal console state. */
  stoppedEarly?: { kind: DiagnosisKind; atMs: number };
  /** The QEMU command line that was run, for the log. */
  command: string;
  /** When the power was cut (ms since QEMU start) and the console line that triggered it. */
  powerCut?: { atMs: number; line: string };
}

const POLL_MS = 250;
/** How long a fatal console state must persist, with no new phase, before the boot is given up. */
export const FATAL_SETTLE_MS: Record<Accel, number> = { kvm: 5000, tcg: 15_000 };
/** Unix socket paths are limited to 108 bytes; leave room. */
const MAX_SOCKET_PATH = 100;

/**
 * When to take the boot-menu screenshot, per accelerator: a little after a menu shows up on the serial console
 * (GRUB and isolinux's menu.c32 draw it there), else after the firmware hands over to the boot loader, else a fixed
 * time after the firmware's first output (or QEMU's start). Menus count down from 3 s; the delays stay inside that.
 */
export const MENU_SHOT: Record<Accel, { afterMenuMs: number; afterBootloaderMs: number; fallbackMs: number }> = {
  kvm: { afterMenuMs: 500, afterBootloaderMs: 1500, fallbackMs: 3000 },
  tcg: { afterMenuMs: 1200, afterBootloaderMs: 3000, fallbackMs: 8000 },
};

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

/** Reads what was appended to a file since the last call (UTF-8 safe across reads). */
class FileTail {
  private offset = 0;
  private readonly decoder = new StringDecoder('utf8');
  constructor(readonly path: string) {}

  async read(): Promise<string> {
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(this.path, 'r');
    } catch {
      return '';
    }
    try {
      const { size } = await fh.stat();
      if (size <= this.offset) return '';
      const buf = Buffer.alloc(size - this.offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
      this.offset += bytesRead;
      return this.decoder.write(buf.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  }
}

async function checkIso(iso: string): Promise<void> {
  try {
    const s = await stat(iso);
    if (s.isFile() || s.isBlockDevice()) return;
  } catch {
    // fall through
  }
  throw new UsageError(`cannot boot ${iso}: no such ISO file`, { hint: 'build the ISO first, or check the path' });
}

/** The QMP socket lives in the work dir unless that path is too long for a unix socket (or has a comma). */
async function qmpSocketPath(workDir: string): Promise<{ path: string; tempDir?: string }> {
  const inWorkDir = join(workDir, 'qmp.sock');
  if (Buffer.byteLength(inWorkDir) <= MAX_SOCKET_PATH && !inWorkDir.includes(',')) return { path: inWorkDir };
  const tempDir = await mkdtemp(join(tmpdir(), 'remaster-qmp-'));
  return { path: join(tempDir, 'qmp.sock'), tempDir };
}

/** Interval of the "in <phase>, N s elapsed" lines during a boot. */
const HEARTBEAT_MS = 5000;

function secs(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** Boot the ISO through its own boot loader and collect what happened. QEMU never outlives this call. */
export async function bootAndCollect(o: BootOptions): Promise<BootResult> {
  if (o.signal?.aborted) throw new InterruptedError('interrupted before the verification boot');
  if (!(o.timeoutMs > 0)) throw new UsageError(`boot timeout must be positive (got ${o.timeoutMs} ms)`);
  await checkIso(o.iso);
  await mkdir(o.workDir, { recursive: true });

  const media = o.media ?? 'cdrom';
  const say = o.onLine ?? (() => {});
  const scale = timeoutScale(o.accel);
  const socket = await qmpSocketPath(o.workDir);
  const paths = bootPaths(o.workDir, socket.path);
  for (const p of [paths.serialLog, paths.firmwareLog, paths.reportFile, paths.bootMenuPng, paths.finalPng, paths.qmpSocket]) {
    await rm(p, { force: true });
  }
  const firmware = await prepareFirmware(o.firmware, o.workDir, o.firmwareRoots === undefined ? {} : { roots: o.firmwareRoots });
  const argv = qemuArgs({
    iso: o.iso,
    firmware,
    media,
    accel: o.accel,
    paths,
    ...(o.memoryMiB === undefined ? {} : { memoryMiB: o.memoryMiB }),
    ...(o.cpus === undefined ? {} : { cpus: o.cpus }),
    reportPort: o.reportPort ?? DEFAULT_REPORT_PORT,
    ...(o.disks === undefined ? {} : { disks: o.disks }),
  });
  const command = quoteArgv([QEMU_BINARY, ...argv]);

  const controller = new AbortController();
  const onAbort = () => controller.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const abortedP = new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }));

  const t0 = performance.now();
  const elapsed = () => performance.now() - t0;
  const child = spawn(QEMU_BINARY, argv, { signal: controller.signal });
  type Exit = Awaited<typeof child>;
  let exit: Exit | undefined;
  let exitAtMs: number | undefined;
  const exited = child.then((r) => {
    exit = r;
    exitAtMs = elapsed();
    return r;
  });
  let killedByUs = false;
  const kill = async () => {
    if (exit) return;
    killedByUs = true;
    child.kill('SIGKILL');
    await exited;
  };

  // Between phases (a TCG boot spends a minute in the kernel and userspace) the elapsed time still moves.
  let beatAtMs = 0;
  const tracker = new PhaseTracker((p) => {
    beatAtMs = p.atMs;
    say(`${phaseLabel(p.name)} reached after ${secs(p.atMs)} s`);
  });
  const heartbeat = (now: number) => {
    if (now - beatAtMs < HEARTBEAT_MS) return;
    beatAtMs = now;
    const last = tracker.lastPhase();
    say(`${last ? `in ${phaseLabel(last)}` : 'starting'}, ${Math.round(now / 1000)} s elapsed`);
  };
  const serialTail = new FileTail(paths.serialLog);
  const firmwareTail = new FileTail(paths.firmwareLog);
  const screenshots: string[] = [];
  let qmp: QmpClient | undefined;
  let timedOut = false;
  let menuShot: 'pending' | 'done' | 'skipped' = 'pending';
  let reportText = '';
  let reportedAtMs: number | undefined;
  let serialText = '';
  let firmwareText = '';
  let fatal: { kind: DiagnosisKind; sinceMs: number; phases: number } | undefined;
  let stoppedEarly: { kind: DiagnosisKind; atMs: number } | undefined;
  let polls = 0;
  let cutLine: { line: string; seenAtMs: number } | undefined;
  /** The serial console's unterminated last line, while a power cut waits for its line. */
  let cutPartial = '';
  let powerCut: { atMs: number; line: string } | undefined;

  const shoot = async (file: string, label: string) => {
    if (!qmp || qmp.isClosed || exit) return;
    try {
      await qmp.screendump(file);
      screenshots.push(file);
      say(`screenshot ${label} at ${secs(elapsed())} s`);
    } catch (e) {
      say(`screenshot ${label} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  /** Ask QEMU to quit; SIGKILL if it is still there after a few seconds. */
  const stop = async () => {
    if (exit) return;
    if (qmp && !qmp.isClosed) {
      killedByUs = true;
      await qmp.quit().catch(() => {});
      await Promise.race([exited, sleep(5000)]);
    }
    await kill();
  };

  const poll = async () => {
    const now = elapsed();
    const fw = await firmwareTail.read();
    const serial = await serialTail.read();
    firmwareText += fw;
    serialText += serial;
    tracker.feed('firmware', fw, now);
    tracker.feed('serial', serial, now);
    if (o.powerCut && !cutLine && serial) {
      // Only what arrived since the last poll (plus the line it continues) is searched.
      const lines = (cutPartial + serial).split('\n');
      cutPartial = (lines.pop() ?? '').slice(-4096);
      const line = [...lines, cutPartial].map(stripTerminalCodes).find((l) => o.powerCut?.when.test(l));
      if (line !== undefined) cutLine = { line: line.trim(), seenAtMs: now };
    }
    reportText = await readFile(paths.reportFile, 'utf8').catch(() => reportText);
    if (reportedAtMs === undefined && parseGuestReport(reportText)?.complete) {
      reportedAtMs = now;
      tracker.mark('reported', now);
    }
  };

  try {
    try {
      qmp = await QmpClient.connect({
        socketPath: paths.qmpSocket,
        timeoutMs: 30_000 * scale,
        signal: controller.signal,
        shouldRetry: () => exit === undefined,
      });
    } catch (e) {
      if (controller.signal.aborted) throw new InterruptedError('interrupted while starting QEMU');
      await Promise.race([exited, sleep(1000)]);
      if (exit) throw qemuFailure(exit, command);
      throw new ToolError(`QEMU started but its QMP socket never answered: ${(e as Error).message}`, QEMU_BINARY, '', {
        cause: e,
      });
    }
    say(`QEMU started (${o.accel}, ${o.firmware}, ${media}); timeout ${secs(o.timeoutMs)} s`);

    const powerOffGraceMs = o.powerOffGraceMs ?? 20_000 * scale;
    for (;;) {
      if (controller.signal.aborted) throw new InterruptedError('interrupted during the verification boot');
      await poll();
      if (exit) break;
      const now = elapsed();
      heartbeat(now);

      if (cutLine && now - cutLine.seenAtMs >= (o.powerCut?.afterMs ?? 0)) {
        say(`cutting the power after ${secs(now)} s (${secs(now - cutLine.seenAtMs)} s after "${cutLine.line}")`);
        await shoot(paths.finalPng, 'final.png');
        await kill();
        powerCut = { atMs: Math.round(now), line: cutLine.line };
        break;
      }

      if (menuShot === 'pending') {
        const decision = menuShotDecision(
          now,
          {
            firmwareAtMs: tracker.get('firmware')?.atMs,
            menuAtMs: tracker.menuSeenAtMs,
            bootloaderAtMs: tracker.get('bootloader')?.atMs,
            kernelSeen: tracker.has('kernel'),
          },
          o.accel,
        );
        if (decision === 'missed') {
          menuShot = 'skipped';
          say('boot menu not captured: the kernel was already running');
        } else if (decision === 'now') {
          menuShot = 'done';
          await shoot(paths.bootMenuPng, 'boot-menu.png');
          if (o.pressEnterAtMenu && qmp && !exit) await qmp.sendKey(['ret']).catch(() => {});
        }
      }

      if (reportedAtMs !== undefined) {
        if (!screenshots.includes(paths.finalPng)) {
          say(`report complete after ${secs(reportedAtMs)} s; waiting for the guest to power off`);
          await shoot(paths.finalPng, 'final.png');
        }
        if (now - reportedAtMs > powerOffGraceMs) {
          say(`the guest did not power off within ${secs(powerOffGraceMs)} s of its report; quitting QEMU`);
          await stop();
          break;
        }
      } else if (o.stopOnFatal !== false && ++polls % 4 === 0) {
        const d = diagnoseDetail(`${firmwareText}\n${serialText}`);
        if (!d || !FATAL_KINDS.has(d.kind)) fatal = undefined;
        else if (!fatal || fatal.kind !== d.kind || fatal.phases !== tracker.phases.length) {
          fatal = { kind: d.kind, sinceMs: now, phases: tracker.phases.length };
        } else if (now - fatal.sinceMs >= FATAL_SETTLE_MS[o.accel]) {
          stoppedEarly = { kind: d.kind, atMs: Math.round(fatal.sinceMs) };
          say(`giving up after ${secs(now)} s: ${d.kind} (seen since ${secs(fatal.sinceMs)} s, no progress since)`);
          timedOut = true;
          await shoot(paths.finalPng, 'final.png');
          await stop();
          break;
        }
      }
      if (reportedAtMs === undefined && now >= o.timeoutMs) {
        timedOut = true;
        say(`no report after ${secs(now)} s; taking a last screenshot and quitting QEMU`);
        await shoot(paths.finalPng, 'final.png');
        await stop();
        break;
      }
      await Promise.race([sleep(POLL_MS), exited, abortedP]);
    }
    await poll();
  } finally {
    qmp?.close();
    await kill();
    o.signal?.removeEventListener('abort', onAbort);
    await rm(paths.qmpSocket, { force: true });
    if (socket.tempDir) await rm(socket.tempDir, { recursive: true, force: true });
  }

  const finished = exit as Exit | undefined;
  if (finished && !killedByUs && !finished.isCanceled && (finished.exitCode !== 0 || finished.signal)) {
    throw qemuFailure(finished, command);
  }

  const report = parseGuestReport(reportText);
  const outcome: BootOutcome = powerCut ? 'power-cut' : report?.complete ? 'reported' : timedOut ? 'timeout' : 'exited-without-report';
  serialText = await readFile(paths.serialLog, 'utf8').catch(() => serialText);
  firmwareText = await readFile(paths.firmwareLog, 'utf8').catch(() => firmwareText);
  const diagnosis =
    outcome === 'power-cut'
      ? undefined
      : diagnoseDetail(`${firmwareText}\n${serialText}`, report, {
          outcome,
          lastPhase: tracker.lastPhase(),
          timeoutMs: o.timeoutMs,
        });
  const durationMs = Math.round(exitAtMs ?? elapsed());
  say(`QEMU exited after ${secs(durationMs)} s: ${outcome}`);
  return {
    outcome,
    ...(report === undefined ? {} : { report }),
    reportText,
    serialLogPath: paths.serialLog,
    firmwareLogPath: paths.firmwareLog,
    reportPath: paths.reportFile,
    screenshots,
    ...(reportedAtMs === undefined ? {} : { secondsToReport: Math.round(reportedAtMs / 100) / 10 }),
    durationMs,
    accel: o.accel,
    firmware: o.firmware,
    media,
    phases: tracker.phases,
    ...(diagnosis === undefined ? {} : { diagnosis: diagnosis.message, diagnosisKind: diagnosis.kind }),
    ...(stoppedEarly === undefined ? {} : { stoppedEarly }),
    command,
    ...(powerCut === undefined ? {} : { powerCut }),
  };
}

function qemuFailure(
  r: { exitCode?: number | undefined; signal?: string | undefined; stderr?: unknown; cause?: unknown },
  command: string,
): RemasterError {
  if ((r.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return new ToolError(`${QEMU_BINARY} is not installed`, QEMU_BINARY, '', {
      hint: 'install it: apt-get install qemu-system-x86',
    });
  }
  const stderr = String(r.stderr ?? '').trim();
  const tail = stderr.split('\n').slice(-8).join('\n');
  const why = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`;
  return new ToolError(`${QEMU_BINARY} ${why}: ${command}${tail ? `\n    ${tail.replaceAll('\n', '\n    ')}` : ''}`, QEMU_BINARY, tail);
}
