// verify(): boot an ISO under each firmware x media and compare what the guest's engine holds with what we expect.
import { mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from './errors.js';
import { run } from './exec/run.js';
import { normaliseRef } from './images/reference.js';
import type { VerifyOutcome } from './pipeline/context.js';
import { chooseAccel, defaultBootTimeoutMs } from './qemu/accel.js';
import { readSerialTail, runName, writeEvidenceIndex } from './qemu/evidence.js';
import { VARS_COPY_NAME } from './qemu/firmware.js';
import { type BootResult, bootAndCollect } from './qemu/launch.js';
import { compareImages, type ExpectedImage } from './qemu/report.js';
import type { Accel, Engine, Firmware, Media } from './types.js';

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

export function loaderDoneSeconds(extra: readonly string[]): number | undefined {
  const us = Number(/^loader-done-us (\d+)$/m.exec(extra.join('\n'))?.[1] ?? 0);
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

export interface VerifyOptions {
  iso: string;
  engine: Engine;
  expected: readonly ExpectedImage[];
  expectedApps?: readonly ExpectedApp[] | undefined;
  firmwares: readonly Firmware[];
  /** Media to boot from under each firmware; default cdrom only. */
  media?: readonly Media[] | undefined;
  accel: Accel;
  /** Seconds; default depends on the accelerator. */
  timeout?: number | undefined;
  /**
   * Evidence: <evidenceDir>/<firmware>-<media>/ per run (serial.log, firmware.log, report.txt, boot-menu.png,
   * final.png), and verify.json + junit.xml at the top, rewritten after every run.
   */
  evidenceDir: string;
  /**
   * The ISO keeps its engine store on this device (its storeDevice): each run gets a fresh ext4 disk image made
   * with that label or UUID, and the guest must put its store there. Other forms (PARTLABEL=, /dev/...) get no disk.
   */
  storeDevice?: string | undefined;
  /**
   * Power cut test (needs storeDevice): cut the power while the loader loads this image, then boot again from the
   * same store disk; that second boot must find every image, and its loader must report the interrupted load.
   */
  powerCut?: string | undefined;
  signal?: AbortSignal | undefined;
  onLine?: ((line: string) => void) | undefined;
}

/** Store disk size: sparse, so only what the guest writes takes space. */
const STORE_DISK_BYTES = 4 * 1024 ** 3;
/**
 * How long after the loader names the image the power is cut: the load is under way by then (its marker is synced
 * before the line is printed). Not scaled for TCG: the cut must land before a small image finishes loading.
 */
const POWER_CUT_DELAY_MS = 1000;

/** How verify makes a disk the guest finds as storeDevice; undefined when it cannot (PARTLABEL=, /dev/...). */
export function storeDiskTag(device: string): { label: string } | { uuid: string } | undefined {
  const m = /^(LABEL|UUID)=(.+)$/.exec(device);
  if (!m?.[2]) return undefined;
  return m[1] === 'LABEL' ? { label: m[2] } : { uuid: m[2] };
}

/** A fresh sparse ext4 image the guest finds by the given tag. */
async function makeStoreDisk(file: string, device: string, signal: AbortSignal | undefined): Promise<void> {
  const tag = storeDiskTag(device);
  if (!tag) throw new Error(`no disk can be made for ${device}`);
  await rm(file, { force: true });
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, '');
  await truncate(file, STORE_DISK_BYTES);
  const id = 'label' in tag ? ['-L', tag.label] : ['-U', tag.uuid];
  await run('mkfs.ext4', ['-q', '-F', ...id, file], {
    signal,
    hint: 'ext4 labels are at most 16 bytes; a UUID looks like 0f9e6c1e-3b8a-4d2c-9a51-7e3f2b1c4d5e',
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

export async function verifyIso(o: VerifyOptions): Promise<VerifyOutcome[]> {
  const storeDisk = o.storeDevice !== undefined && storeDiskTag(o.storeDevice) !== undefined;
  if (o.powerCut !== undefined && !storeDisk) {
    throw new UsageError('a power cut test needs a store device verify can make: --store-device LABEL=<label> or UUID=<uuid>', {
      hint: 'build the ISO with --store-device LABEL=remaster-store and verify with the same --store-device',
    });
  }
  if (o.powerCut !== undefined && !o.expected.some((e) => normaliseRef(e.ref) === normaliseRef(o.powerCut ?? ''))) {
    throw new UsageError(`--power-cut ${o.powerCut} is not one of the expected images`, {
      hint: 'name an image given with --expect: the power is cut while the loader loads it',
    });
  }
  const choice = await chooseAccel({ preference: o.accel, signal: o.signal });
  if (o.storeDevice !== undefined && !storeDisk) {
    o.onLine?.(
      `store device ${o.storeDevice}: verify makes disks for LABEL= and UUID= only, so none is attached; the guest uses a tmpfs store`,
    );
  }
  o.onLine?.(`accelerator: ${choice.accel} (${choice.reason})`);
  const evidenceDir = resolve(o.evidenceDir);
  await mkdir(evidenceDir, { recursive: true });
  const startedAt = new Date().toISOString();
  const outcomes: VerifyOutcome[] = [];
  const tails: string[][] = [];
  const writeIndex = () => {
    const withTails = outcomes.map((x, i) => ({ ...x, serialTail: tails[i] ?? [] }));
    return writeEvidenceIndex(
      evidenceDir,
      {
        ok: outcomes.length > 0 && outcomes.every((x) => x.ok),
        iso: resolve(o.iso),
        engine: o.engine,
        expected: o.expected,
        startedAt,
        outcomes,
      },
      { outcomes: withTails, timestamp: startedAt, properties: { iso: resolve(o.iso), engine: o.engine, accel: choice.accel } },
    );
  };
  for (const firmware of o.firmwares) {
    for (const media of o.media ?? ['cdrom']) {
      const label = `${firmware}/${media}`;
      const dir = join(evidenceDir, runName(firmware, media));
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      // The store disk lives beside the evidence while the run lasts; it is not evidence (sparse, gigabytes).
      const diskFile = join(dir, 'store-disk.img');
      const disks = storeDisk && o.storeDevice ? [diskFile] : [];
      const boot = (workDir: string, extra: { powerCut?: { when: RegExp; afterMs: number } }) =>
        bootAndCollect({
          iso: o.iso,
          firmware,
          media,
          accel: choice.accel,
          timeoutMs: o.timeout ? o.timeout * 1000 : defaultBootTimeoutMs(choice.accel),
          workDir,
          pressEnterAtMenu: true,
          disks,
          ...extra,
          ...(o.signal ? { signal: o.signal } : {}),
          onLine: (l) => o.onLine?.(`${label}${workDir === dir ? '' : ' (power cut boot)'}: ${l}`),
        });
      let cut: { boot: BootResult; dir: string } | undefined;
      let r: BootResult | undefined;
      try {
        if (storeDisk && o.storeDevice) await makeStoreDisk(diskFile, o.storeDevice, o.signal);
        if (o.powerCut !== undefined) {
          const cutDir = join(dir, 'power-cut');
          const when = loadingLine(o.powerCut);
          cut = { dir: cutDir, boot: await boot(cutDir, { powerCut: { when, afterMs: POWER_CUT_DELAY_MS } }) };
          await rm(join(cutDir, VARS_COPY_NAME), { force: true });
        }
        // After a cut that never happened there is nothing to recover from: the first boot is the result.
        r = cut && cut.boot.outcome !== 'power-cut' ? cut.boot : await boot(dir, {});
      } finally {
        await rm(diskFile, { force: true });
      }
      // The per-run copy of the OVMF variable store is not evidence.
      await rm(join(dir, VARS_COPY_NAME), { force: true });
      const cmp = r.report ? compareImages(r.report, o.expected) : { missing: o.expected.map((e) => e.ref), wrongId: [], ok: false };
      const engineOk = r.report?.engine === undefined || r.report.engine === o.engine;
      const apps = parseApps(r.report?.extra ?? []);
      const appFailures = failingApps(apps, o.expectedApps ?? []);
      const storeFs = r.report?.extra.find((l) => l.startsWith('store-fs '))?.slice('store-fs '.length);
      const storeOk = !storeDisk || (storeFs !== undefined && storeFs !== 'tmpfs');
      const cutMissed = cut !== undefined && cut.boot.outcome !== 'power-cut';
      const cutNoticed = o.powerCut === undefined || interruptedReported(r.report?.journal ?? [], o.powerCut);
      const ok =
        r.outcome === 'reported' &&
        r.report?.complete === true &&
        cmp.ok &&
        engineOk &&
        r.report.loaderResult === 'success' &&
        appFailures.length === 0 &&
        storeOk &&
        !cutMissed &&
        cutNoticed;
      let diagnosis = cutMissed ? undefined : r.diagnosis;
      let diagnosisKind: string | undefined = cutMissed ? undefined : r.diagnosisKind;
      if (!ok && !diagnosis) {
        if (cutMissed)
          [diagnosisKind, diagnosis] = [
            'power-cut-missed',
            `the power was never cut: the first boot ended (${r.outcome}${r.diagnosis ? `: ${r.diagnosis.split('\n')[0]}` : ''}) without the loader starting to load ${o.powerCut}`,
          ];
        else if (!engineOk) [diagnosisKind, diagnosis] = ['wrong-engine', `the guest runs ${r.report?.engine}, expected ${o.engine}`];
        else if (appFailures.length > 0) [diagnosisKind, diagnosis] = ['apps-failing', `app units failing: ${appFailures.join('; ')}`];
        else if (cmp.missing.length > 0)
          [diagnosisKind, diagnosis] = ['images-missing', `images missing in the guest: ${cmp.missing.join(', ')}`];
        else if (cmp.wrongId.length > 0)
          [diagnosisKind, diagnosis] = [
            'images-wrong-id',
            `images with another ID in the guest: ${cmp.wrongId.map((w) => w.ref).join(', ')}`,
          ];
        else if (r.report?.loaderResult !== 'success')
          [diagnosisKind, diagnosis] = ['loader-failed', `the loader ended with result ${r.report?.loaderResult ?? 'unknown'}`];
        else if (!storeOk)
          [diagnosisKind, diagnosis] = [
            'store-device-unused',
            `the engine store is on ${storeFs ?? 'an unknown filesystem'}, not on the store device ${o.storeDevice} (see remaster-storage.service in the journal)`,
          ];
        else
          [diagnosisKind, diagnosis] = [
            'power-cut-unnoticed',
            `after the power cut while ${o.powerCut} loaded, the next boot's loader did not report the interrupted load`,
          ];
      }
      outcomes.push({
        firmware,
        media,
        accel: choice.accel,
        accelReason: choice.reason,
        ok,
        secondsToReport: r.secondsToReport,
        durationSeconds: Math.round(r.durationMs / 100) / 10,
        images: r.report?.images ?? [],
        apps,
        missing: cmp.missing,
        wrongId: cmp.wrongId,
        loaderResult: r.report?.loaderResult,
        imagesUsableSeconds: loaderDoneSeconds(r.report?.extra ?? []),
        kernelCmdline: kernelCmdline(r.report?.extra ?? []),
        storeFs,
        ...(cut?.boot.powerCut
          ? {
              powerCut: {
                image: o.powerCut ?? '',
                atSeconds: Math.round(cut.boot.powerCut.atMs / 100) / 10,
                reportedByLoader: cutNoticed,
                evidenceDir: cut.dir,
              },
            }
          : {}),
        diagnosis: ok ? undefined : diagnosis,
        diagnosisKind: ok ? undefined : diagnosisKind,
        evidenceDir: dir,
        serialLog: r.serialLogPath,
        screenshots: r.screenshots,
      });
      tails.push(await readSerialTail(r.serialLogPath));
      await writeIndex();
      o.onLine?.(
        `${label}: ${ok ? 'PASS' : 'FAIL'}${r.secondsToReport ? ` (report after ${r.secondsToReport.toFixed(0)} s)` : ''}${ok ? '' : `: ${diagnosis}`}`,
      );
    }
  }
  return outcomes;
}
