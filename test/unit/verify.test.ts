import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawFromFlags } from '../../src/cli/commands.js';
import { parseMedia, toBuildConfig } from '../../src/config/load.js';
import type { RemasterError } from '../../src/errors.js';
import type { VerifyOutcome } from '../../src/pipeline/context.js';
import { failureSummary } from '../../src/verify.js';

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
