// verify(): boot an ISO under each firmware and compare what the guest's engine holds with what we expect.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Accel, Firmware } from './config/types.js';
import type { VerifyOutcome } from './pipeline/context.js';
import { chooseAccel, defaultBootTimeoutMs } from './qemu/accel.js';
import { bootAndCollect } from './qemu/launch.js';
import { compareImages, type ExpectedImage } from './qemu/report.js';
import type { Engine } from './units/render.js';

export interface VerifyOptions {
  iso: string;
  engine: Engine;
  expected: readonly ExpectedImage[];
  firmwares: readonly Firmware[];
  accel: Accel;
  /** Seconds; default depends on the accelerator. */
  timeout?: number | undefined;
  /** Evidence (serial logs, screenshots, report text) goes to <workDir>/<firmware>/. */
  workDir: string;
  signal?: AbortSignal | undefined;
  onLine?: ((line: string) => void) | undefined;
}

export async function verifyIso(o: VerifyOptions): Promise<VerifyOutcome[]> {
  const choice = await chooseAccel({ preference: o.accel, signal: o.signal });
  o.onLine?.(`accelerator: ${choice.accel} (${choice.reason})`);
  const outcomes: VerifyOutcome[] = [];
  for (const firmware of o.firmwares) {
    const dir = join(o.workDir, firmware);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const r = await bootAndCollect({
      iso: o.iso,
      firmware,
      accel: choice.accel,
      timeoutMs: o.timeout ? o.timeout * 1000 : defaultBootTimeoutMs(choice.accel),
      workDir: dir,
      pressEnterAtMenu: true,
      ...(o.signal ? { signal: o.signal } : {}),
      onLine: (l) => o.onLine?.(`${firmware}: ${l}`),
    });
    const cmp = r.report ? compareImages(r.report, o.expected) : { missing: o.expected.map((e) => e.ref), wrongId: [], ok: false };
    const engineOk = r.report?.engine === undefined || r.report.engine === o.engine;
    const ok = r.outcome === 'reported' && r.report?.complete === true && cmp.ok && engineOk && r.report.loaderResult === 'success';
    let diagnosis = r.diagnosis;
    if (!ok && !diagnosis) {
      if (!engineOk) diagnosis = `the guest runs ${r.report?.engine}, expected ${o.engine}`;
      else if (cmp.missing.length > 0) diagnosis = `images missing in the guest: ${cmp.missing.join(', ')}`;
      else if (cmp.wrongId.length > 0) diagnosis = `images with another ID in the guest: ${cmp.wrongId.map((w) => w.ref).join(', ')}`;
      else if (r.report?.loaderResult !== 'success') diagnosis = `the loader ended with result ${r.report?.loaderResult ?? 'unknown'}`;
    }
    outcomes.push({
      firmware,
      accel: choice.accel,
      accelReason: choice.reason,
      ok,
      secondsToReport: r.secondsToReport,
      durationSeconds: Math.round(r.durationMs / 100) / 10,
      images: r.report?.images ?? [],
      missing: cmp.missing,
      wrongId: cmp.wrongId,
      loaderResult: r.report?.loaderResult,
      diagnosis: ok ? undefined : diagnosis,
      serialLog: r.serialLogPath,
      screenshots: r.screenshots,
    });
    o.onLine?.(
      `${firmware}: ${ok ? 'PASS' : 'FAIL'}${r.secondsToReport ? ` (report after ${r.secondsToReport.toFixed(0)} s)` : ''}${ok ? '' : `: ${diagnosis}`}`,
    );
  }
  return outcomes;
}
