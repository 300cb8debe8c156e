// The verdict on a verification boot, as pure functions of what the guest reported: images with their IDs, the
// loader's result, app units, where the store was, and the power cut. Tested on captured reports.
import { normaliseRef } from '../images/reference.js';
import { compareImages, type ExpectedImage, type GuestReport } from '../qemu/report.js';
import type { Engine, Firmware, Media } from '../types.js';

export interface ExpectedApp {
  name: string;
  checkPort?: number | undefined;
}

export interface GuestApp {
  name: string;
  unit: string;
  state: string;
  probe: string;
}

/** The `app <name> <unit> <state> <probe>` lines of the report. */
export function parseApps(extra: readonly string[]): GuestApp[] {
  return extra.flatMap((line) => {
    const m = /^app (\S+) (\S+) (\S*) (\S+)$/.exec(line);
    return m ? [{ name: m[1] ?? '', unit: m[2] ?? '', state: m[3] ?? '', probe: m[4] ?? '' }] : [];
  });
}

/** Guest seconds since boot when the loader finished (the images are usable from then on). */
/** The kernel command line the guest booted with (the `cmdline` report line). */
export function kernelCmdline(extra: readonly string[]): string | undefined {
  return extra.find((l) => l.startsWith('cmdline '))?.slice('cmdline '.length);
}

/** The guest's root filesystem type (`root-fs` report line): overlay on a live boot, ext4... installed. */
export function rootFs(extra: readonly string[]): string | undefined {
  return extra.find((l) => l.startsWith('root-fs '))?.slice('root-fs '.length);
}

/** The guest's `firmware` report line: "bios", "uefi secure-boot=on" or "uefi secure-boot=off". */
export function firmwareLine(extra: readonly string[]): string | undefined {
  return extra.find((l) => l.startsWith('firmware '))?.slice('firmware '.length);
}

export function loaderDoneSeconds(extra: readonly string[]): number | undefined {
  return monotonicSeconds(extra, 'loader-done-us');
}

/** Guest uptime when dockerd was up (docker.service active); podman has no daemon to wait for. */
export function engineUpSeconds(extra: readonly string[]): number | undefined {
  return monotonicSeconds(extra, 'engine-up-us');
}

function monotonicSeconds(extra: readonly string[], kind: string): number | undefined {
  const us = Number(new RegExp(`^${kind} (\\d+)$`, 'm').exec(extra.join('\n'))?.[1] ?? 0);
  return us > 0 ? Math.round(us / 100_000) / 10 : undefined;
}

/** Apps that are not running, or do not answer on their check port. */
export function failingApps(apps: readonly GuestApp[], expected: readonly ExpectedApp[]): string[] {
  return expected.flatMap((want) => {
    const got = apps.find((a) => a.name === want.name);
    if (!got) return [`${want.name}: not reported`];
    if (got.state !== 'active') return [`${want.name}: unit ${got.unit} is ${got.state || 'unknown'}`];
    if (want.checkPort !== undefined && !/^http:[23]\d\d$/.test(got.probe))
      return [`${want.name}: port ${want.checkPort} gave ${got.probe}`];
    return [];
  });
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** ref as the loader may name it: with or without docker.io/, docker.io/library/ or localhost/ (see normaliseRef). */
function refPattern(ref: string): string {
  return `(docker\\.io/library/|docker\\.io/|localhost/)?${escapeRegExp(normaliseRef(ref))}`;
}

/** The loader's console line when it starts loading ref. */
export function loadingLine(ref: string): RegExp {
  return new RegExp(`loading: ${refPattern(ref)} from `);
}

export interface LoaderCounts {
  total: number;
  loaded: number;
  present: number;
  failed: number;
}

/** The loader's last `summary:` line in its journal (templates/load-images.sh), as numbers. */
export function loaderCounts(journal: readonly string[]): LoaderCounts | undefined {
  for (let i = journal.length - 1; i >= 0; i--) {
    const m = /summary: (\d+) images, (\d+) loaded, (\d+) already present, (\d+) failed/.exec(journal[i] ?? '');
    if (m) return { total: Number(m[1]), loaded: Number(m[2]), present: Number(m[3]), failed: Number(m[4]) };
  }
  return undefined;
}

/** Whether the loader's journal reports a load of ref cut short by the previous boot. */
export function interruptedReported(journal: readonly string[], ref: string): boolean {
  const re = new RegExp(`INTERRUPTED ${refPattern(ref)}: `);
  return journal.some((l) => re.test(l));
}

/** One line per failed run, e.g. "uefi/cdrom: the firmware found nothing bootable ...": the diagnosis's first line. */
export function failureSummary(outcomes: readonly VerifyOutcome[]): string {
  return outcomes
    .filter((o) => !o.ok)
    .map((o) => `${o.firmware}/${o.media}: ${(o.diagnosis ?? 'unknown failure').split('\n')[0]}`)
    .join('; ');
}

/** What one verification run found, as the report, verify.json and junit.xml carry it. */
export interface VerifyOutcome {
  firmware: Firmware;
  /** What the ISO was attached as (an optical drive, a USB stick), or `installed`: the disk the installer wrote. */
  media: Media | 'installed';
  /** An installed run: how the install went (it ran under the same firmware, or plain OVMF for uefi-sb). */
  install?: { ok: boolean; seconds: number; serialLog: string; syslog: string; screenshots: string[] } | undefined;
  accel: 'kvm' | 'tcg';
  accelReason: string;
  ok: boolean;
  secondsToReport?: number | undefined;
  durationSeconds: number;
  images: { ref: string; id: string }[];
  apps: { name: string; unit: string; state: string; probe: string }[];
  missing: string[];
  wrongId: { ref: string; expected: string; actual: string }[];
  loaderResult?: string | undefined;
  /** The loader's own summary: images it loaded at this boot, and those the engine already held (a ready store's). */
  loaderCounts?: LoaderCounts | undefined;
  /** Guest uptime (kernel start) when the loader finished: boot-to-images-usable. */
  imagesUsableSeconds?: number | undefined;
  /** Guest uptime when dockerd was up (docker only): images usable minus this is the wait for the images alone. */
  engineUpSeconds?: number | undefined;
  /** /proc/cmdline in the guest: proves the boot menu entry that ran (and its edits). */
  kernelCmdline?: string | undefined;
  /** The guest's own word on its firmware: "bios", "uefi secure-boot=on" or "uefi secure-boot=off". */
  guestFirmware?: string | undefined;
  /** Filesystem under the engine store in the guest (tmpfs on a live root, ext4... on a store device). */
  storeFs?: string | undefined;
  /** Power cut test: the first boot was cut while this image loaded (seconds after QEMU start), then booted again. */
  powerCut?: { image: string; atSeconds: number; reportedByLoader: boolean; evidenceDir: string } | undefined;
  diagnosis?: string | undefined;
  /** A stable name for the diagnosis (no-bootable-device, root-not-found, loader-failed, timeout, ...). */
  diagnosisKind?: string | undefined;
  /** This run's evidence folder (absolute): serial.log, firmware.log, report.txt, boot-menu.png, final.png. */
  evidenceDir: string;
  serialLog: string;
  screenshots: string[];
}

/** What a boot left for the verdict: how it ended, the guest's report, and the console's diagnosis. */
export interface BootFacts {
  outcome: 'reported' | 'timeout' | 'exited-without-report' | 'power-cut' | 'powered-off';
  report?: GuestReport | undefined;
  diagnosis?: string | undefined;
  diagnosisKind?: string | undefined;
}

export interface VerdictInput {
  /** The boot that counts (after a power cut: the second one). */
  boot: BootFacts;
  /** The boot whose power was to be cut, when a power cut was asked for. */
  cutBoot?: BootFacts | undefined;
  engine: Engine;
  expected: readonly ExpectedImage[];
  expectedApps?: readonly ExpectedApp[] | undefined;
  /** A store disk was attached: the engine store must be on it. */
  storeDisk: boolean;
  storeDevice?: string | undefined;
  /** The image the power was cut while loading. */
  powerCut?: string | undefined;
  /** The run had Secure Boot enforced: the guest must say so (its firmware line). */
  secureBoot?: boolean | undefined;
  /** The boot is an installed system's: its root must be a disk filesystem, not the live overlay. */
  installed?: boolean | undefined;
}

export interface Verdict {
  ok: boolean;
  diagnosis?: string | undefined;
  diagnosisKind?: string | undefined;
  apps: GuestApp[];
  missing: string[];
  wrongId: { ref: string; expected: string; actual: string }[];
  storeFs?: string | undefined;
  /** The loader of the boot after the cut reported the interrupted load (true when no cut was asked for). */
  cutNoticed: boolean;
}

/**
 * Whether a run passed, and if not the one diagnosis that says why. A console diagnosis (no bootable device, kernel
 * panic, timeout...) comes first; then the checks below, in order, each with a stable kind.
 */
export function verdict(i: VerdictInput): Verdict {
  const { boot, report } = { boot: i.boot, report: i.boot.report };
  const cmp = report ? compareImages(report, i.expected) : { missing: i.expected.map((e) => e.ref), wrongId: [], ok: false };
  const apps = parseApps(report?.extra ?? []);
  const appFailures = failingApps(apps, i.expectedApps ?? []);
  const storeFs = report?.extra.find((l) => l.startsWith('store-fs '))?.slice('store-fs '.length);
  const cutMissed = i.cutBoot !== undefined && i.cutBoot.outcome !== 'power-cut';
  const cutNoticed = i.powerCut === undefined || interruptedReported(report?.journal ?? [], i.powerCut);
  const checks: { kind: string; failed: boolean; message: () => string }[] = [
    {
      kind: 'power-cut-missed',
      failed: cutMissed,
      message: () =>
        `the power was never cut: the first boot ended (${boot.outcome}${boot.diagnosis ? `: ${boot.diagnosis.split('\n')[0]}` : ''}) without the loader starting to load ${i.powerCut}`,
    },
    {
      kind: 'wrong-engine',
      failed: report?.engine !== undefined && report.engine !== i.engine,
      message: () => `the guest runs ${report?.engine}, expected ${i.engine}`,
    },
    { kind: 'apps-failing', failed: appFailures.length > 0, message: () => `app units failing: ${appFailures.join('; ')}` },
    { kind: 'images-missing', failed: cmp.missing.length > 0, message: () => `images missing in the guest: ${cmp.missing.join(', ')}` },
    {
      kind: 'images-wrong-id',
      failed: cmp.wrongId.length > 0,
      message: () => `images with another ID in the guest: ${cmp.wrongId.map((w) => w.ref).join(', ')}`,
    },
    {
      kind: 'loader-failed',
      failed: report?.loaderResult !== 'success',
      message: () => `the loader ended with result ${report?.loaderResult ?? 'unknown'}`,
    },
    {
      kind: 'store-device-unused',
      failed: i.storeDisk && (storeFs === undefined || storeFs === 'tmpfs'),
      message: () =>
        `the engine store is on ${storeFs ?? 'an unknown filesystem'}, not on the store device ${i.storeDevice} (see remaster-storage.service in the journal)`,
    },
    {
      kind: 'not-installed-root',
      failed: i.installed === true && rootFs(report?.extra ?? []) === 'overlay',
      message: () => 'the installed disk booted into a live overlay root: the installation did not write a root filesystem',
    },
    {
      kind: 'secure-boot-off',
      failed: i.secureBoot === true && firmwareLine(report?.extra ?? []) !== 'uefi secure-boot=on',
      message: () =>
        `the guest reports its firmware as "${firmwareLine(report?.extra ?? []) ?? 'unknown'}", not UEFI with Secure Boot on: the run proves nothing about Secure Boot`,
    },
    {
      kind: 'power-cut-unnoticed',
      failed: !cutNoticed,
      message: () => `after the power cut while ${i.powerCut} loaded, the next boot's loader did not report the interrupted load`,
    },
  ];
  const failed = checks.find((c) => c.failed);
  const reported = boot.outcome === 'reported' && report?.complete === true;
  const facts = { apps, missing: cmp.missing, wrongId: cmp.wrongId, storeFs, cutNoticed };
  if (reported && !failed) return { ok: true, ...facts };
  if (!cutMissed && boot.diagnosis) return { ok: false, diagnosis: boot.diagnosis, diagnosisKind: boot.diagnosisKind, ...facts };
  if (failed) return { ok: false, diagnosis: failed.message(), diagnosisKind: failed.kind, ...facts };
  return { ok: false, diagnosis: `the guest sent no complete report (${boot.outcome})`, diagnosisKind: 'no-report', ...facts };
}
