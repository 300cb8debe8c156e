// verify(): boot an ISO under each firmware x media and compare what the guest's engine holds with what we expect.
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { normaliseRef } from '../images/reference.js';
import { chooseAccel, defaultBootTimeoutMs, defaultInstallTimeoutMs } from '../qemu/accel.js';
import { readSerialTail, runName, writeEvidenceIndex } from '../qemu/evidence.js';
import { VARS_COPY_NAME } from '../qemu/firmware.js';
import { type BootResult, bootAndCollect } from '../qemu/launch.js';
import type { ExpectedImage } from '../qemu/report.js';
import type { Accel, Engine, Firmware, Media } from '../types.js';
import { inspectIso } from '../iso/inspect.js';
import { reachedDi } from '../iso/installers.js';
import { installToDisk } from './install.js';
import { makeStoreDisk, storeDiskTag } from './store-disk.js';
import {
  type ExpectedApp,
  firmwareLine,
  kernelCmdline,
  loaderCounts,
  loaderDoneSeconds,
  engineUpSeconds,
  loadingLine,
  verdict,
  type VerifyOutcome,
} from './verdict.js';

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
  /** Also install the ISO with its own installer onto a blank disk and boot that disk, under each firmware. */
  install?: boolean | undefined;
  /** Seconds an install may take; default depends on the accelerator. */
  installTimeout?: number | undefined;
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
  const run: RunContext = { o, accel: choice, evidenceDir, storeDisk };
  const record = async (outcome: VerifyOutcome, serialLog: string, label: string, secondsToReport?: number) => {
    outcomes.push(outcome);
    tails.push(await readSerialTail(serialLog));
    await writeIndex();
    o.onLine?.(
      `${label}: ${outcome.ok ? 'PASS' : 'FAIL'}${secondsToReport ? ` (report after ${secondsToReport.toFixed(0)} s)` : ''}${outcome.ok ? '' : `: ${outcome.diagnosis}`}`,
    );
  };
  for (const firmware of o.firmwares) {
    for (const media of o.media ?? ['cdrom']) {
      const r = await liveRun(run, firmware, media);
      await record(r.outcome, r.serialLog, `${firmware}/${media}`, r.outcome.secondsToReport);
    }
    if (o.install) {
      const r = await installedRun(run, firmware);
      await record(r.outcome, r.serialLog, `${firmware}/installed disk`, r.outcome.secondsToReport);
    }
  }
  return outcomes;
}

interface RunContext {
  o: VerifyOptions;
  accel: { accel: 'kvm' | 'tcg'; reason: string };
  evidenceDir: string;
  /** A store disk is attached to live boots (the ISO's --store-device, in a form verify can make). */
  storeDisk: boolean;
  /** The ISO's inspection, made once for all firmwares by the first installed run. */
  base?: ReturnType<typeof inspectIso> | undefined;
}

/** The outcome of one boot as the report carries it, from the boot and its verdict. */
function outcomeOf(
  c: RunContext,
  firmware: Firmware,
  media: VerifyOutcome['media'],
  r: BootResult,
  v: ReturnType<typeof verdict>,
  dir: string,
  extra: Partial<VerifyOutcome> = {},
): VerifyOutcome {
  return {
    firmware,
    media,
    accel: c.accel.accel,
    accelReason: c.accel.reason,
    ok: v.ok,
    secondsToReport: r.secondsToReport,
    durationSeconds: Math.round(r.durationMs / 100) / 10,
    images: r.report?.images ?? [],
    apps: v.apps,
    missing: v.missing,
    wrongId: v.wrongId,
    loaderResult: r.report?.loaderResult,
    loaderCounts: loaderCounts(r.report?.journal ?? []),
    imagesUsableSeconds: loaderDoneSeconds(r.report?.extra ?? []),
    engineUpSeconds: engineUpSeconds(r.report?.extra ?? []),
    kernelCmdline: kernelCmdline(r.report?.extra ?? []),
    guestFirmware: firmwareLine(r.report?.extra ?? []),
    storeFs: v.storeFs,
    diagnosis: v.diagnosis,
    diagnosisKind: v.diagnosisKind,
    evidenceDir: dir,
    serialLog: r.serialLogPath,
    screenshots: r.screenshots,
    ...extra,
  };
}

/** One live boot of the ISO under a firmware from a medium (with a power cut first, when asked). */
async function liveRun(c: RunContext, firmware: Firmware, media: Media): Promise<{ outcome: VerifyOutcome; serialLog: string }> {
  const { o } = c;
  const label = `${firmware}/${media}`;
  const dir = join(c.evidenceDir, runName(firmware, media));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  // The store disk lives beside the evidence while the run lasts; it is not evidence (sparse, gigabytes).
  const diskFile = join(dir, 'store-disk.img');
  const disks = c.storeDisk && o.storeDevice ? [diskFile] : [];
  const boot = (workDir: string, extra: { powerCut?: { when: RegExp; afterMs: number } }) =>
    bootAndCollect({
      iso: o.iso,
      firmware,
      media,
      accel: c.accel.accel,
      timeoutMs: o.timeout ? o.timeout * 1000 : defaultBootTimeoutMs(c.accel.accel),
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
    if (c.storeDisk && o.storeDevice) await makeStoreDisk(diskFile, o.storeDevice, o.signal);
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
    storeDisk: c.storeDisk,
    storeDevice: o.storeDevice,
    powerCut: o.powerCut,
    secureBoot: firmware === 'uefi-sb',
  });
  const powerCut = cut?.boot.powerCut
    ? {
        powerCut: {
          image: o.powerCut ?? '',
          atSeconds: Math.round(cut.boot.powerCut.atMs / 100) / 10,
          reportedByLoader: v.cutNoticed,
          evidenceDir: cut.dir,
        },
      }
    : {};
  return { outcome: outcomeOf(c, firmware, media, r, v, dir, powerCut), serialLog: r.serialLogPath };
}

/**
 * Install the ISO onto a blank disk with its own installer (under the firmware, or plain OVMF for uefi-sb: a kernel
 * started directly is not signed for Secure Boot's keys), then boot that disk alone through the boot loader the
 * installer wrote, under the firmware, and judge it like a live boot.
 */
async function installedRun(c: RunContext, firmware: Firmware): Promise<{ outcome: VerifyOutcome; serialLog: string }> {
  const { o } = c;
  const dir = join(c.evidenceDir, runName(firmware, 'installed'));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  c.base ??= inspectIso(o.iso, { signal: o.signal });
  const base = await c.base;
  const di = reachedDi(base.installers);
  if (!di?.initrds?.length) {
    throw new UsageError(`verify --install: ${o.iso} carries no Debian installer (d-i) remaster installs with`, {
      hint: 'remaster inspect lists the installers a base carries; verify the live session without --install',
    });
  }
  const installDir = join(dir, 'installer');
  const timeoutMs = o.installTimeout ? o.installTimeout * 1000 : defaultInstallTimeoutMs(c.accel.accel);
  o.onLine?.(`${firmware}/installed disk: installing with the ISO's own installer (timeout ${Math.round(timeoutMs / 60000)} min)`);
  const install = await installToDisk({
    iso: o.iso,
    files: base.files,
    initrds: di.initrds,
    firmware: firmware === 'uefi-sb' ? 'uefi' : firmware,
    accel: c.accel.accel,
    timeoutMs,
    dir: installDir,
    signal: o.signal,
    onLine: (l) => o.onLine?.(`${firmware}/installed disk: ${l}`),
  });
  await rm(join(installDir, VARS_COPY_NAME), { force: true });
  const installFacts = {
    install: {
      ok: install.diagnosis.ok,
      seconds: install.seconds,
      serialLog: install.boot.serialLogPath,
      syslog: install.syslog,
      screenshots: install.boot.screenshots,
    },
  };
  try {
    if (!install.diagnosis.ok) {
      const failed = { ...install.boot, outcome: 'exited-without-report' as const };
      const v = { ...verdict({ boot: failed, engine: o.engine, expected: o.expected, storeDisk: false }), ok: false };
      return {
        outcome: outcomeOf(
          c,
          firmware,
          'installed',
          install.boot,
          { ...v, diagnosis: install.diagnosis.message, diagnosisKind: install.diagnosis.kind },
          dir,
          installFacts,
        ),
        serialLog: install.boot.serialLogPath,
      };
    }
    o.onLine?.(`${firmware}/installed disk: installed in ${install.seconds} s; booting the disk alone`);
    const r = await bootAndCollect({
      firmware,
      media: 'disk',
      disks: [install.disk],
      accel: c.accel.accel,
      timeoutMs: o.timeout ? o.timeout * 1000 : defaultBootTimeoutMs(c.accel.accel),
      workDir: dir,
      pressEnterAtMenu: true,
      ...(o.signal ? { signal: o.signal } : {}),
      onLine: (l) => o.onLine?.(`${firmware}/installed disk: ${l}`),
    });
    await rm(join(dir, VARS_COPY_NAME), { force: true });
    const v = verdict({
      boot: r,
      engine: o.engine,
      expected: o.expected,
      expectedApps: o.expectedApps,
      storeDisk: false,
      secureBoot: firmware === 'uefi-sb',
      installed: true,
    });
    return { outcome: outcomeOf(c, firmware, 'installed', r, v, dir, installFacts), serialLog: r.serialLogPath };
  } finally {
    // The disk is gigabytes (sparse): what it proved is in the evidence.
    await rm(install.disk, { force: true });
  }
}
