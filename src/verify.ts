// verify(): boot an ISO under each firmware x media and compare what the guest's engine holds with what we expect.
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Accel, Firmware, Media } from './config/types.js';
import type { VerifyOutcome } from './pipeline/context.js';
import { chooseAccel, defaultBootTimeoutMs } from './qemu/accel.js';
import { readSerialTail, runName, writeEvidenceIndex } from './qemu/evidence.js';
import { VARS_COPY_NAME } from './qemu/firmware.js';
import { bootAndCollect } from './qemu/launch.js';
import { compareImages, type ExpectedImage } from './qemu/report.js';
import type { Engine } from './units/render.js';

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
  signal?: AbortSignal | undefined;
  onLine?: ((line: string) => void) | undefined;
}

/** One line per failed run, e.g. "uefi/cdrom: the firmware found nothing bootable ...": the diagnosis's first line. */
export function failureSummary(outcomes: readonly VerifyOutcome[]): string {
  return outcomes
    .filter((o) => !o.ok)
    .map((o) => `${o.firmware}/${o.media}: ${(o.diagnosis ?? 'unknown failure').split('\n')[0]}`)
    .join('; ');
}

export async function verifyIso(o: VerifyOptions): Promise<VerifyOutcome[]> {
  const choice = await chooseAccel({ preference: o.accel, signal: o.signal });
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
      const r = await bootAndCollect({
        iso: o.iso,
        firmware,
        media,
        accel: choice.accel,
        timeoutMs: o.timeout ? o.timeout * 1000 : defaultBootTimeoutMs(choice.accel),
        workDir: dir,
        pressEnterAtMenu: true,
        ...(o.signal ? { signal: o.signal } : {}),
        onLine: (l) => o.onLine?.(`${label}: ${l}`),
      });
      // The per-run copy of the OVMF variable store is not evidence.
      await rm(join(dir, VARS_COPY_NAME), { force: true });
      const cmp = r.report ? compareImages(r.report, o.expected) : { missing: o.expected.map((e) => e.ref), wrongId: [], ok: false };
      const engineOk = r.report?.engine === undefined || r.report.engine === o.engine;
      const apps = parseApps(r.report?.extra ?? []);
      const appFailures = failingApps(apps, o.expectedApps ?? []);
      const ok =
        r.outcome === 'reported' &&
        r.report?.complete === true &&
        cmp.ok &&
        engineOk &&
        r.report.loaderResult === 'success' &&
        appFailures.length === 0;
      let diagnosis = r.diagnosis;
      let diagnosisKind: string | undefined = r.diagnosisKind;
      if (!ok && !diagnosis) {
        if (!engineOk) [diagnosisKind, diagnosis] = ['wrong-engine', `the guest runs ${r.report?.engine}, expected ${o.engine}`];
        else if (appFailures.length > 0) [diagnosisKind, diagnosis] = ['apps-failing', `app units failing: ${appFailures.join('; ')}`];
        else if (cmp.missing.length > 0)
          [diagnosisKind, diagnosis] = ['images-missing', `images missing in the guest: ${cmp.missing.join(', ')}`];
        else if (cmp.wrongId.length > 0)
          [diagnosisKind, diagnosis] = [
            'images-wrong-id',
            `images with another ID in the guest: ${cmp.wrongId.map((w) => w.ref).join(', ')}`,
          ];
        else [diagnosisKind, diagnosis] = ['loader-failed', `the loader ended with result ${r.report?.loaderResult ?? 'unknown'}`];
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
