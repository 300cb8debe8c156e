// Turns a boot's captured console text and guest report into one plain-words diagnosis of the usual failures.
import { type PhaseName, stripTerminalCodes } from './phases.js';
import type { GuestReport } from './report.js';

export type DiagnosisKind =
  | 'loader-failed'
  | 'no-bootable-device'
  | 'secure-boot-refused'
  | 'bootloader-error'
  | 'root-not-found'
  | 'kernel-panic'
  | 'report-truncated'
  | 'exited-without-report'
  | 'timeout';

/** Failures the guest cannot recover from by itself: waiting longer only burns the timeout. */
export const FATAL_KINDS: ReadonlySet<DiagnosisKind> = new Set([
  'no-bootable-device',
  'secure-boot-refused',
  'bootloader-error',
  'root-not-found',
  'kernel-panic',
]);

export interface Diagnosis {
  kind: DiagnosisKind;
  message: string;
}

export interface DiagnoseContext {
  /** How the boot ended; shapes the fallback wording when no known failure is found. */
  outcome?: 'reported' | 'timeout' | 'exited-without-report';
  /** Furthest phase the boot reached. */
  lastPhase?: PhaseName | undefined;
  timeoutMs?: number;
}

const JOURNAL_LINES = 20;

function cleanLines(text: string): string[] {
  return stripTerminalCodes(text)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

function firstMatch(lines: readonly string[], re: RegExp): string | undefined {
  return lines.find((l) => re.test(l));
}

function quote(line: string): string {
  const short = line.length > 200 ? `${line.slice(0, 200)}...` : line;
  return `"${short}"`;
}

/** Lines before the kernel started: where firmware and boot loader messages live (all of them if it never did). */
/** A GRUB error line: often benign (a missing font or module), after which GRUB carries on and loads the kernel. */
const GRUB_ERROR = /^error: (?!prohibited by secure boot policy)/;
/** The boot loader stopped for good: a prompt, or no kernel to boot. */
const LOADER_STUCK =
  /Could not find kernel image|Failed to load (ldlinux\.c32|COM32 file)|No DEFAULT or UI configuration directive|you need to load the kernel first|grub rescue>|Boot failed: press a key to retry|Minimal BASH-like line editing is supported/;

/**
 * Whether the boot loader is stuck for good (a prompt, no kernel), not only complaining: the watcher gives up early
 * on this, while a bare GRUB `error:` line may be followed, many seconds later under TCG, by the kernel.
 */
export function loaderStuck(serialLog: string): boolean {
  const lines = cleanLines(serialLog);
  const early = preKernel(lines);
  return early.length === lines.length && firstMatch(early, LOADER_STUCK) !== undefined;
}

function preKernel(lines: readonly string[]): string[] {
  const k = lines.findIndex((l) => /Linux version \d/.test(l));
  return k < 0 ? [...lines] : lines.slice(0, k);
}

/** Lines the loader (templates/load-images.sh) prints for what went wrong: its FAILED lines, else its other errors. */
export function loaderReasons(journal: readonly string[], max = 5): string[] {
  const failed = journal.filter((l) => /^FAILED\b/.test(l.trim()) || /manifest .* is missing/.test(l));
  if (failed.length > 0) return failed.slice(0, max);
  return journal
    .filter((l) => /\b(error|cannot|can't|denied|not found|no such|missing)\b/i.test(l) && !/^remaster-loader\.service: /.test(l))
    .slice(0, max);
}

/** live-boot's own reason after "BOOT FAILED!": the line after "The error message was:". */
function liveBootReason(lines: readonly string[]): string | undefined {
  const i = lines.findIndex((l) => /The error message was:/.test(l));
  if (i < 0) return undefined;
  const inline = lines[i]?.replace(/^.*The error message was:\s*/, '');
  return inline || lines[i + 1];
}

/**
 * The usual failures, most specific first. Returns undefined when the report is complete and the loader succeeded.
 * `serialLog` may also carry the firmware's debug log (SeaBIOS prints "No bootable device" there, not on serial).
 */
export function diagnoseDetail(serialLog: string, report?: GuestReport, ctx: DiagnoseContext = {}): Diagnosis | undefined {
  if (report?.complete) {
    if (report.loaderResult === 'success') return undefined;
    const how = [
      report.loaderResult === undefined ? 'without saying how it ended' : `with result ${report.loaderResult}`,
      report.loaderExit === undefined ? '' : `, exit status ${report.loaderExit}`,
    ].join('');
    const units = report.failedUnits.length ? `; failed units: ${report.failedUnits.join(', ')}` : '';
    const reasons = loaderReasons(report.journal);
    const why = reasons.length ? `: ${reasons.map(quote).join('; ')}` : '';
    const journal = report.journal.slice(-JOURNAL_LINES);
    const tail = journal.length
      ? `\nlast ${journal.length} line(s) of its journal:\n${journal.map((l) => `  ${l}`).join('\n')}`
      : '\nits journal was empty';
    return {
      kind: 'loader-failed',
      message: `the guest booted, but the image loader service failed ${how}${why}${units}${tail}`,
    };
  }

  const lines = cleanLines(serialLog);
  const early = preKernel(lines);
  // Once the kernel runs, the firmware and boot loader did their job: their complaints (GRUB prints benign
  // "error: no such device" for a failed `search`, OVMF tries other boot options first) no longer matter.
  const kernelStarted = early.length < lines.length;

  // Secure Boot said no: OVMF to an unsigned loader ("Access Denied"), shim to an unsigned GRUB ("Security
  // Violation"), GRUB to an unsigned kernel ("bad shim signature"). Not GRUB's "prohibited by secure boot policy":
  // a signed GRUB prints it for a module its grub.cfg asks for and carries on (an installed Debian system does).
  const refused = kernelStarted
    ? undefined
    : firstMatch(
        early,
        /BdsDxe: failed to load Boot[0-9A-F]+ .*: Access Denied|Verification failed: .*Security Violation|bad shim signature/,
      );
  if (refused) {
    return {
      kind: 'secure-boot-refused',
      message: `Secure Boot refused to run the boot chain: ${quote(refused)}. The UEFI loaders must be signed for Microsoft's UEFI CA (shim) and the kernel by a key shim trusts, as Debian's shim-signed, grub-efi-amd64-signed and linux-image-amd64 are.`,
    };
  }

  const noBoot = kernelStarted
    ? undefined
    : (firstMatch(early, /No bootable (device|option)/i) ??
      (early.some((l) => /BdsDxe: starting Boot[0-9A-F]+ "(?!EFI Internal Shell)/.test(l))
        ? undefined
        : (firstMatch(early, /BdsDxe: failed to load Boot[0-9A-F]+/) ?? firstMatch(early, /UEFI Interactive Shell|^Shell>/))));
  if (noBoot) {
    const failures = [...new Set(early.filter((l) => l !== noBoot && /^Boot failed:|BdsDxe: failed to load/.test(l)))];
    const detail = failures.length ? ` (${failures.map(quote).join('; ')})` : '';
    return {
      kind: 'no-bootable-device',
      message:
        `the firmware found nothing bootable on the medium: ${quote(noBoot)}${detail}. ` +
        'The ISO lacks a boot record for this firmware (BIOS: El Torito/isohybrid MBR; UEFI: an EFI system partition ' +
        'with EFI/BOOT/BOOTX64.EFI).',
    };
  }

  const loaderError = kernelStarted ? undefined : (firstMatch(early, GRUB_ERROR) ?? firstMatch(early, LOADER_STUCK));
  if (loaderError) {
    return {
      kind: 'bootloader-error',
      message: `the boot loader started but could not boot the kernel: ${quote(loaderError)}. Check the paths in isolinux/grub.cfg against the files on the ISO.`,
    };
  }

  const liveBoot = liveBootReason(lines);
  const squashfsErrors = [...new Set(lines.filter((l) => /SQUASHFS error:|squashfs: .*(unable|failed|error)/i.test(l)))].slice(0, 3);
  if (liveBoot && /Can ?not mount|squashfs|filesystem/i.test(liveBoot)) {
    const kernel = squashfsErrors.length ? ` (kernel: ${squashfsErrors.map(quote).join('; ')})` : '';
    return {
      kind: 'root-not-found',
      message: `the kernel started but live-boot could not mount the live file system: ${quote(liveBoot)}${kernel}. A squashfs layer on the ISO is damaged or truncated: compare it with md5sum.txt / sha256sum.txt on the ISO.`,
    };
  }
  const rootLine = firstMatch(
    lines,
    /Unable to find a medium containing a live file system|Unable to find a medium|VFS: Unable to mount root fs|Gave up waiting for root (file system )?device|ALERT! .* does not exist|Dropping to a shell|\(initramfs\)/,
  );
  if (rootLine) {
    return {
      kind: 'root-not-found',
      message: `the kernel started but its initramfs could not find the root/live file system: ${quote(liveBoot ?? rootLine)}. The squashfs is missing or misnamed, or the kernel lacks the driver for the boot medium (cdrom/usb).`,
    };
  }

  const panic = firstMatch(lines, /Kernel panic - not syncing/);
  if (panic) {
    return { kind: 'kernel-panic', message: `the kernel panicked: ${quote(panic)}` };
  }

  const reached = ctx.lastPhase ? `; it got as far as ${ctx.lastPhase}` : '';
  const last = lines.at(-1);
  const lastLine = last ? `; last console line: ${quote(last)}` : '; the serial console stayed silent';

  if (report && !report.complete) {
    return {
      kind: 'report-truncated',
      message: `the guest started its report but never finished it (no "end" line)${reached}${lastLine}`,
    };
  }
  if (ctx.outcome === 'exited-without-report') {
    return {
      kind: 'exited-without-report',
      message: `the guest powered off or rebooted without sending a report${reached}${lastLine}`,
    };
  }
  const within = ctx.timeoutMs === undefined ? '' : ` within ${Math.round(ctx.timeoutMs / 1000)} s`;
  const login = firstMatch(lines, /\S login: ?/);
  if (login) {
    return {
      kind: 'timeout',
      message: `no report arrived${within}, although the guest booted to a login prompt (${quote(login.slice(0, login.indexOf('login:') + 6))}): the report unit did not run or could not write to the virtio port`,
    };
  }
  return {
    kind: 'timeout',
    message: `no report arrived${within} and the console shows no known failure${reached}${lastLine}`,
  };
}

/** Plain-words diagnosis, or undefined when the report is complete and the loader succeeded. */
export function diagnose(serialLog: string, report?: GuestReport, ctx: DiagnoseContext = {}): string | undefined {
  return diagnoseDetail(serialLog, report, ctx)?.message;
}
