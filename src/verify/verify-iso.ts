// verify(): boot an ISO under each firmware x media and compare what the guest's engine holds with what we expect.
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { normaliseRef } from '../images/reference.js';
import { chooseAccel, defaultBootTimeoutMs } from '../qemu/accel.js';
import { readSerialTail, runName, writeEvidenceIndex } from '../qemu/evidence.js';
import { VARS_COPY_NAME } from '../qemu/firmware.js';
import { type BootResult, bootAndCollect } from '../qemu/launch.js';
import type { ExpectedImage } from '../qemu/report.js';
import type { Accel, Engine, Firmware, Media } from '../types.js';
import { makeStoreDisk, storeDiskTag } from './store-disk.js';
import { type ExpectedApp, firmwareLine, kernelCmdline, loaderDoneSeconds, loadingLine, verdict, type VerifyOutcome } from './verdict.js';

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

/**
 * How long after the loader names the image the power is cut: the load is under way by then (its marker is synced
 * before the line is printed). Not scaled for TCG: the cut must land before a small image finishes loading.
 */
const POWER_CUT_DELAY_MS = 1000;

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
      const v = verdict({
        boot: r,
        cutBoot: cut?.boot,
        engine: o.engine,
        expected: o.expected,
        expectedApps: o.expectedApps,
        storeDisk,
        storeDevice: o.storeDevice,
        powerCut: o.powerCut,
        secureBoot: firmware === 'uefi-sb',
      });
      const { ok, diagnosis } = v;
      outcomes.push({
        firmware,
        media,
        accel: choice.accel,
        accelReason: choice.reason,
        ok,
        secondsToReport: r.secondsToReport,
        durationSeconds: Math.round(r.durationMs / 100) / 10,
        images: r.report?.images ?? [],
        apps: v.apps,
        missing: v.missing,
        wrongId: v.wrongId,
        loaderResult: r.report?.loaderResult,
        imagesUsableSeconds: loaderDoneSeconds(r.report?.extra ?? []),
        kernelCmdline: kernelCmdline(r.report?.extra ?? []),
        guestFirmware: firmwareLine(r.report?.extra ?? []),
        storeFs: v.storeFs,
        ...(cut?.boot.powerCut
          ? {
              powerCut: {
                image: o.powerCut ?? '',
                atSeconds: Math.round(cut.boot.powerCut.atMs / 100) / 10,
                reportedByLoader: v.cutNoticed,
                evidenceDir: cut.dir,
              },
            }
          : {}),
        diagnosis: v.diagnosis,
        diagnosisKind: v.diagnosisKind,
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
