// Boots an ISO in QEMU, watches it through serial/firmware logs and QMP, and collects the guest's report.
import { mkdir, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { InterruptedError, UsageError } from '../errors.js';
import { type Accel, timeoutScale } from './accel.js';
import { type BootMedia, bootPaths, DEFAULT_REPORT_PORT, type DirectKernel, qemuArgs } from './args.js';
import { type DiagnosisKind, diagnoseDetail } from './diagnose.js';
import { type FirmwareKind, prepareFirmware } from './firmware.js';
import type { Phase } from './phases.js';
import { type GuestReport, parseGuestReport } from './report.js';
import { QemuProcess } from './process.js';
import { BootWatch, secs, type WatchAction, type WatchInput } from './watch.js';

export interface BootOptions {
  /** The ISO: booted through its boot loader (cdrom, usb), or attached for a direct kernel or an installed disk. */
  iso?: string | undefined;
  /** Boot this kernel and initrd directly (the installer with test-only answers). */
  kernel?: DirectKernel | undefined;
  /** What ends the boot: the guest's report (default), or the guest powering off (an installer at its end). */
  until?: 'report' | 'poweroff' | undefined;
  /** A second serial port kept in this file (an installer's syslog): it counts as progress. */
  auxLog?: string | undefined;
  /** A network card that leads nowhere (see QemuArgsOptions.isolatedNic). */
  isolatedNic?: boolean | undefined;
  /** poweroff mode: the question a console waits on (see WatchOptions.waitingOn). */
  waitingOn?: ((console: string) => string | undefined) | undefined;
  /** poweroff mode: what of the console counts as output (see WatchOptions.consoleText). */
  consoleText?: ((console: string) => string) | undefined;
  /** The step the auxiliary log last names, for the progress lines (see WatchOptions.auxStep). */
  auxStep?: ((aux: string) => string | undefined) | undefined;
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
export type BootOutcome = 'reported' | 'timeout' | 'exited-without-report' | 'power-cut' | 'powered-off';

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
  /** poweroff mode: the console waited on this question until the run was given up. */
  stuck?: { question: string; sinceMs: number };
}

const POLL_MS = 250;
/** Unix socket paths are limited to 108 bytes; leave room. */
const MAX_SOCKET_PATH = 100;

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

/** Boot the ISO through its own boot loader and collect what happened. QEMU never outlives this call. */
export async function bootAndCollect(o: BootOptions): Promise<BootResult> {
  if (o.signal?.aborted) throw new InterruptedError('interrupted before the verification boot');
  if (!(o.timeoutMs > 0)) throw new UsageError(`boot timeout must be positive (got ${o.timeoutMs} ms)`);
  if (o.iso !== undefined) await checkIso(o.iso);
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
    kernel: o.kernel,
    firmware,
    media,
    accel: o.accel,
    paths,
    ...(o.memoryMiB === undefined ? {} : { memoryMiB: o.memoryMiB }),
    ...(o.cpus === undefined ? {} : { cpus: o.cpus }),
    reportPort: o.reportPort ?? DEFAULT_REPORT_PORT,
    secondSerial: o.auxLog,
    isolatedNic: o.isolatedNic,
    ...(o.disks === undefined ? {} : { disks: o.disks }),
  });

  const controller = new AbortController();
  const onAbort = () => controller.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const abortedP = new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }));
  const qemu = new QemuProcess(argv, controller.signal);
  const watch = new BootWatch({
    accel: o.accel,
    timeoutMs: o.timeoutMs,
    powerOffGraceMs: o.powerOffGraceMs ?? 20_000 * scale,
    stopOnFatal: o.stopOnFatal,
    pressEnterAtMenu: o.pressEnterAtMenu,
    powerCut: o.powerCut,
    until: o.until,
    waitingOn: o.waitingOn,
    consoleText: o.consoleText,
    auxStep: o.auxStep,
    bootMenu: o.kernel === undefined,
  });
  const auxTail = o.auxLog === undefined ? undefined : new FileTail(o.auxLog);
  if (o.auxLog !== undefined) await rm(o.auxLog, { force: true });
  const serialTail = new FileTail(paths.serialLog);
  const firmwareTail = new FileTail(paths.firmwareLog);
  const screenshots: string[] = [];
  let reportText = '';

  /** What the logs and the report port show now that they did not at the last look. */
  const look = async (): Promise<WatchInput> => {
    const nowMs = qemu.elapsed();
    const firmware = await firmwareTail.read();
    const serial = await serialTail.read();
    reportText = await readFile(paths.reportFile, 'utf8').catch(() => reportText);
    const aux = (await auxTail?.read()) ?? '';
    return { nowMs, firmware, serial, aux, reportComplete: parseGuestReport(reportText)?.complete === true, exited: qemu.hasExited };
  };

  const shoot = async (file: string) => {
    if (screenshots.includes(file)) return;
    const label = basename(file);
    try {
      if (!(await qemu.screenshot(file))) return;
      screenshots.push(file);
      say(`screenshot ${label} at ${secs(qemu.elapsed())} s`);
    } catch (e) {
      say(`screenshot ${label} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  const perform = async (a: WatchAction) => {
    if (a.kind === 'say') say(a.line);
    else if (a.kind === 'screenshot') await shoot(a.which === 'final' ? paths.finalPng : paths.bootMenuPng);
    else if (a.kind === 'press-enter') await qemu.pressEnter();
    else if (a.kind === 'cut-power') await qemu.kill();
    else await qemu.stop();
  };

  try {
    await qemu.connectQmp(paths.qmpSocket, 30_000 * scale, controller.signal);
    say(`QEMU started (${o.accel}, ${o.firmware}, ${media}); timeout ${secs(o.timeoutMs)} s`);
    while (!watch.done) {
      if (controller.signal.aborted) throw new InterruptedError('interrupted during the verification boot');
      for (const a of watch.step(await look())) await perform(a);
      if (!watch.done) await Promise.race([sleep(POLL_MS), qemu.exited(), abortedP]);
    }
    // The last of the logs and the report, written while QEMU went down.
    watch.step(await look());
  } finally {
    await qemu.close();
    o.signal?.removeEventListener('abort', onAbort);
    await rm(paths.qmpSocket, { force: true });
    if (socket.tempDir) await rm(socket.tempDir, { recursive: true, force: true });
  }
  const failed = qemu.failure();
  if (failed) throw failed;

  const report = parseGuestReport(reportText);
  const end = watch.end;
  const powerCut = end?.why === 'power-cut' ? { atMs: end.atMs, line: end.line } : undefined;
  const timedOut = end?.why === 'timeout' || end?.why === 'fatal' || end?.why === 'stuck';
  const stuck = end?.why === 'stuck' ? { question: end.question, sinceMs: end.sinceMs } : undefined;
  const stoppedEarly = end?.why === 'fatal' ? { kind: end.kind, atMs: end.sinceMs } : undefined;
  const outcome: BootOutcome = powerCut
    ? 'power-cut'
    : report?.complete
      ? 'reported'
      : timedOut
        ? 'timeout'
        : o.until === 'poweroff'
          ? 'powered-off'
          : 'exited-without-report';
  const serialText = await readFile(paths.serialLog, 'utf8').catch(() => '');
  const firmwareText = await readFile(paths.firmwareLog, 'utf8').catch(() => '');
  // An installer's run is judged by its caller (it knows the installer's words); a power cut is no failure.
  const diagnosis =
    outcome === 'power-cut' || outcome === 'powered-off' || o.until === 'poweroff'
      ? undefined
      : diagnoseDetail(`${firmwareText}\n${serialText}`, report, {
          outcome,
          lastPhase: watch.tracker.lastPhase(),
          timeoutMs: o.timeoutMs,
        });
  const durationMs = qemu.durationMs;
  say(`QEMU exited after ${secs(durationMs)} s: ${outcome}`);
  return {
    outcome,
    ...(report === undefined ? {} : { report }),
    reportText,
    serialLogPath: paths.serialLog,
    firmwareLogPath: paths.firmwareLog,
    reportPath: paths.reportFile,
    screenshots,
    ...(watch.reportedAtMs === undefined ? {} : { secondsToReport: Math.round(watch.reportedAtMs / 100) / 10 }),
    durationMs,
    accel: o.accel,
    firmware: o.firmware,
    media,
    phases: watch.tracker.phases,
    ...(diagnosis === undefined ? {} : { diagnosis: diagnosis.message, diagnosisKind: diagnosis.kind }),
    ...(stoppedEarly === undefined ? {} : { stoppedEarly }),
    command: qemu.command,
    ...(powerCut === undefined ? {} : { powerCut }),
    ...(stuck === undefined ? {} : { stuck }),
  };
}
