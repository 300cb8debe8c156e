// The verdict on a verification boot and the helpers it reads the guest's report with.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseGuestReport } from '../../../src/qemu/report.js';
import {
  failingApps,
  failureSummary,
  firmwareLine,
  interruptedReported,
  kernelCmdline,
  engineUpSeconds,
  loaderCounts,
  loaderDoneSeconds,
  loadingLine,
  parseApps,
  type VerifyOutcome,
  verdict,
} from '../../../src/verify/verdict.js';

function outcome(firmware: 'bios' | 'uefi', media: 'cdrom' | 'usb', diagnosis?: string): VerifyOutcome {
  // A cast, not an annotation: VerifyOutcome grows fields other tests own.
  return {
    firmware,
    media,
    accel: 'tcg',
    accelReason: 'test',
    ok: diagnosis === undefined,
    durationSeconds: 1,
    images: [],
    apps: [],
    missing: [],
    wrongId: [],
    diagnosis,
    evidenceDir: `/ev/${firmware}-${media}`,
    serialLog: `/ev/${firmware}-${media}/serial.log`,
    screenshots: [],
  } as VerifyOutcome;
}

test('failureSummary: one clause per failed run, first line of its diagnosis', () => {
  assert.equal(
    failureSummary([
      outcome('bios', 'cdrom'),
      outcome('bios', 'usb', 'the loader failed: "FAILED a: archive x is missing"\nlast 3 line(s) of its journal:\n  x'),
      outcome('uefi', 'cdrom', 'the firmware found nothing bootable'),
    ]),
    'bios/usb: the loader failed: "FAILED a: archive x is missing"; uefi/cdrom: the firmware found nothing bootable',
  );
  assert.equal(failureSummary([outcome('bios', 'cdrom')]), '');
});

test('power cut: the loader line that triggers it and the journal line that proves it was noticed', () => {
  const re = loadingLine('fault/b:1');
  assert.match('loading: fault/b:1 from fault_b_1-1234abcd.tar.zst', re);
  assert.match('[  OK  ] loading: localhost/fault/b:1 from x.tar.zst', re);
  assert.doesNotMatch('loading: fault/b:10 from x', re);
  assert.doesNotMatch('loaded: fault/b:1 (abc)', re);
  assert.match('loading: nginx:1 from x', loadingLine('docker.io/library/nginx:1'));
  const journal = ['<4>INTERRUPTED fault/b:1: an earlier boot ended (power cut or reset) while loading it', 'loaded: fault/b:1 (abc)'];
  assert.ok(interruptedReported(journal, 'fault/b:1'));
  assert.ok(!interruptedReported(journal, 'fault/a:1'));
  assert.ok(!interruptedReported(['loaded: fault/b:1 (abc)'], 'fault/b:1'));
});

// --- the verdict on captured guest reports ---------------------------------------------------------------------

const captured = (name: string) =>
  parseGuestReport(readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/output/qemu/${name}`, import.meta.url)), 'utf8'));
const fault = (c: string, id: string) => ({ ref: `fault/${c}:1`, id: `sha256:${id}` });
const FAULT_IDS = {
  a: 'd4fbb5e9e6132510fafad7996add039cf35fbd7e58a6f8233c921d7404796a9c',
  b: '58e3fc4c03fe1aa362067949a78e688646f1773435bfcc373819a51503958847',
  c: '9c249611457be3306c89a636d851bdd45b0c93814b11246081aad5750f577e0e',
};
const faults = [fault('a', FAULT_IDS.a), fault('b', FAULT_IDS.b), fault('c', FAULT_IDS.c)];

test('helpers read the report lines: apps, kernel command line, when the loader finished', () => {
  const r = captured('report-app-running.txt');
  assert.ok(r);
  assert.deepEqual(parseApps(r.extra), [{ name: 'web', unit: 'remaster-app-web.service', state: 'active', probe: 'http:200' }]);
  assert.equal(
    kernelCmdline(r.extra),
    'BOOT_IMAGE=/live/vmlinuz initrd=/live/initrd.img boot=live components console=tty0 console=ttyS0,115200n8 remaster.e2e=menu-edit',
  );
  assert.equal(loaderDoneSeconds(r.extra), 115.5);
  assert.equal(loaderDoneSeconds([]), undefined);
  assert.deepEqual(failingApps(parseApps(r.extra), [{ name: 'web', checkPort: 80 }]), []);
  assert.deepEqual(failingApps([{ name: 'web', unit: 'u', state: 'failed', probe: '-' }], [{ name: 'web' }]), ['web: unit u is failed']);
  assert.deepEqual(failingApps([{ name: 'web', unit: 'u', state: 'active', probe: 'refused' }], [{ name: 'web', checkPort: 80 }]), [
    'web: port 80 gave refused',
  ]);
  assert.deepEqual(failingApps([], [{ name: 'db' }]), ['db: not reported']);
});

test('verdict: every image with its ID and the app running passes; a missing image fails as images-missing', () => {
  const report = captured('report-app-running.txt');
  const expected = [
    { ref: 'demo/web:1.0', id: 'sha256:a885853cef862aafec9ad93d843d88ec5adec8f22bf2487b2d3e2a7066aaca57' },
    { ref: '127.0.0.1:35707/acme/tools:2' },
  ];
  const base = { boot: { outcome: 'reported' as const, report }, engine: 'docker' as const, storeDisk: false };
  const v = verdict({ ...base, expected, expectedApps: [{ name: 'web', checkPort: 8080 }] });
  assert.equal(v.ok, true, v.diagnosis);
  assert.equal(v.storeFs, 'tmpfs');
  const missing = verdict({ ...base, expected: [...expected, { ref: 'acme/gone:1' }] });
  assert.deepEqual(
    [missing.ok, missing.diagnosisKind, missing.diagnosis],
    [false, 'images-missing', 'images missing in the guest: acme/gone:1'],
  );
  const wrong = verdict({ ...base, engine: 'podman', expected });
  assert.deepEqual([wrong.diagnosisKind, wrong.diagnosis], ['wrong-engine', 'the guest runs docker, expected podman']);
});

test('verdict: a failed loader is loader-failed; the console diagnosis wins when there is one', () => {
  const report = captured('report-loader-failed.txt');
  const v = verdict({ boot: { outcome: 'reported', report }, engine: 'podman', expected: [fault('a', FAULT_IDS.a)], storeDisk: false });
  assert.deepEqual([v.ok, v.diagnosisKind], [false, 'loader-failed']);
  const d = verdict({
    boot: { outcome: 'reported', report, diagnosis: 'the loader failed: "FAILED fault/b:1"', diagnosisKind: 'loader-failed' },
    engine: 'podman',
    expected: [fault('a', FAULT_IDS.a)],
    storeDisk: false,
  });
  assert.equal(d.diagnosis, 'the loader failed: "FAILED fault/b:1"');
});

test('verdict: after a power cut, the second boot must hold everything on the store disk and report the cut', () => {
  const report = captured('report-power-cut-second-boot.txt');
  const input = {
    boot: { outcome: 'reported' as const, report },
    cutBoot: { outcome: 'power-cut' as const },
    engine: 'docker' as const,
    expected: faults,
    storeDisk: true,
    storeDevice: 'LABEL=remaster-store',
    powerCut: 'fault/b:1',
  };
  const v = verdict(input);
  assert.equal(v.ok, true, v.diagnosis);
  assert.deepEqual([v.storeFs, v.cutNoticed], ['ext4', true]);
  const unnoticed = verdict({ ...input, powerCut: 'fault/c:1' });
  assert.deepEqual([unnoticed.ok, unnoticed.diagnosisKind], [false, 'power-cut-unnoticed']);
  const missed = verdict({ ...input, boot: { outcome: 'reported', report }, cutBoot: { outcome: 'reported', report } });
  assert.deepEqual([missed.ok, missed.diagnosisKind], [false, 'power-cut-missed']);
  const onTmpfs = verdict({
    ...input,
    boot: {
      outcome: 'reported',
      report: report && { ...report, extra: report.extra.map((l) => l.replace('store-fs ext4', 'store-fs tmpfs')) },
    },
  });
  assert.deepEqual([onTmpfs.ok, onTmpfs.diagnosisKind], [false, 'store-device-unused']);
});

test('verdict: no report at all and no console diagnosis says so', () => {
  const v = verdict({ boot: { outcome: 'exited-without-report' }, engine: 'docker', expected: faults, storeDisk: false });
  assert.equal(v.ok, false);
  assert.equal(v.diagnosisKind, 'images-missing');
  assert.equal(v.missing.length, 3);
});

test('verdict: a Secure Boot run must be reported by the guest as UEFI with Secure Boot on', () => {
  const report = captured('report-app-running.txt');
  assert.ok(report);
  const withFirmware = (line: string) => ({ ...report, extra: [...report.extra, `firmware ${line}`] });
  const base = { engine: 'docker' as const, expected: [{ ref: 'demo/web:1.0' }], storeDisk: false, secureBoot: true };
  assert.equal(firmwareLine(withFirmware('uefi secure-boot=on').extra), 'uefi secure-boot=on');
  assert.equal(verdict({ ...base, boot: { outcome: 'reported', report: withFirmware('uefi secure-boot=on') } }).ok, true);
  const off = verdict({ ...base, boot: { outcome: 'reported', report: withFirmware('uefi secure-boot=off') } });
  assert.deepEqual([off.ok, off.diagnosisKind], [false, 'secure-boot-off']);
  assert.equal(verdict({ ...base, boot: { outcome: 'reported', report } }).diagnosisKind, 'secure-boot-off', 'no firmware line at all');
  assert.equal(verdict({ ...base, secureBoot: false, boot: { outcome: 'reported', report } }).ok, true, 'not asked for, not checked');
});

test('the loader summary and the time dockerd was up come from the guest report', () => {
  assert.deepEqual(loaderCounts(['loading: a', 'summary: 3 images, 1 loaded, 2 already present, 0 failed']), {
    total: 3,
    loaded: 1,
    present: 2,
    failed: 0,
  });
  assert.deepEqual(
    loaderCounts(['summary: 1 images, 1 loaded, 0 already present, 0 failed', 'summary: 1 images, 0 loaded, 1 already present, 0 failed'])
      ?.present,
    1,
  );
  assert.equal(loaderCounts(['loaded: a']), undefined);
  assert.equal(engineUpSeconds(['loader-done-us 20500000', 'engine-up-us 20012345']), 20);
  assert.equal(engineUpSeconds(['engine-up-us 0']), undefined);
});
