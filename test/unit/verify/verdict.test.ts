// The verdict on a verification boot and the helpers it reads the guest's report with.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failureSummary, interruptedReported, loadingLine, type VerifyOutcome } from '../../../src/verify/verdict.js';

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
