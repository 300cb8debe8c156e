import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawFromFlags } from '../../src/cli/commands.js';
import { parseMedia, toBuildConfig } from '../../src/config/load.js';
import type { RemasterError } from '../../src/errors.js';
import type { VerifyOutcome } from '../../src/pipeline/context.js';
import { failureSummary, interruptedReported, loadingLine, storeDiskTag } from '../../src/verify.js';

test('parseMedia: cdrom, usb, all, lists; rejects the rest naming the key', () => {
  assert.deepEqual(parseMedia('verifyMedia', 'cdrom'), ['cdrom']);
  assert.deepEqual(parseMedia('verifyMedia', 'usb'), ['usb']);
  assert.deepEqual(parseMedia('verifyMedia', 'all'), ['cdrom', 'usb']);
  assert.deepEqual(parseMedia('verifyMedia', 'usb, cdrom,usb'), ['usb', 'cdrom']);
  assert.deepEqual(parseMedia('verifyMedia', ['usb', 'all']), ['usb', 'cdrom']);
  assert.throws(
    () => parseMedia('--media', 'floppy'),
    (e: RemasterError) => /^--media: expected "cdrom" or "usb" or "all"/.test(e.message),
  );
  assert.throws(() => parseMedia('verifyMedia', ['cdrom', 3]), /verifyMedia\[1\]/);
  assert.throws(() => parseMedia('verifyMedia', []), /verifyMedia/);
});

const base = { iso: '/base.iso', out: '/out/new.iso', engine: 'docker', images: ['docker://registry.example/app:1'] };

test('config: verifyMedia defaults to cdrom, evidenceDir to none (the workspace); both resolve', () => {
  const c = toBuildConfig(base, {});
  assert.deepEqual(c.verifyMedia, ['cdrom']);
  assert.equal(c.evidenceDir, undefined);
  const d = toBuildConfig({ ...base, verifyMedia: 'all', evidenceDir: 'ev' }, {});
  assert.deepEqual(d.verifyMedia, ['cdrom', 'usb']);
  assert.equal(d.evidenceDir, `${process.cwd()}/ev`);
});

test('build flags --verify-media and --evidence-dir map to their config keys', () => {
  const raw = rawFromFlags({ 'verify-media': 'usb', 'evidence-dir': '/tmp/ev', verify: 'uefi' });
  assert.equal(raw.verifyMedia, 'usb');
  assert.equal(raw.evidenceDir, '/tmp/ev');
  const c = toBuildConfig({ ...base, ...raw }, {});
  assert.deepEqual([c.verify, c.verifyMedia, c.evidenceDir], [['uefi'], ['usb'], '/tmp/ev']);
});

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

test('store device tags verify can make a disk for: LABEL= and UUID= only', () => {
  assert.deepEqual(storeDiskTag('LABEL=remaster-store'), { label: 'remaster-store' });
  assert.deepEqual(storeDiskTag('UUID=0f9e6c1e-3b8a-4d2c-9a51-7e3f2b1c4d5e'), { uuid: '0f9e6c1e-3b8a-4d2c-9a51-7e3f2b1c4d5e' });
  assert.equal(storeDiskTag('PARTLABEL=store'), undefined);
  assert.equal(storeDiskTag('/dev/sdb1'), undefined);
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

test('config: storeDevice takes tags and /dev paths, refuses anything a shell would read differently', () => {
  assert.equal(toBuildConfig({ ...base, storeDevice: 'LABEL=remaster-store' }, {}).storeDevice, 'LABEL=remaster-store');
  assert.equal(toBuildConfig({ ...base, storeDevice: '/dev/disk/by-id/nvme-1' }, {}).storeDevice, '/dev/disk/by-id/nvme-1');
  assert.equal(toBuildConfig(base, {}).storeDevice, undefined);
  for (const bad of ['LABEL=a b', 'LABEL=$(reboot)', 'sdb1', 'LABEL=', "UUID=x'y"]) {
    assert.throws(() => toBuildConfig({ ...base, storeDevice: bad }, {}), /storeDevice/, bad);
  }
  assert.equal(rawFromFlags({ 'store-device': 'LABEL=s' }).storeDevice, 'LABEL=s');
});
