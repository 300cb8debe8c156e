// End to end, real tools only: the verification's failure paths. One good docker ISO is built once; each test
// breaks a copy of it with xorriso / squashfs-tools the way real ISOs get broken, boots it through
// `remaster verify`, and checks the exit code, the plain-words diagnosis and the evidence left behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { defaultCacheDir } from '../../src/config/paths.js';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { Workspace } from '../../src/pipeline/workspace.js';
import { cli, fixtureIso, mountsBelow } from '../helpers/fixture.js';
import { editLayer, extract, mapOver as mapOnto, tool } from '../helpers/iso-surgery.js';
import type { VerifyOutcome } from '../../src/verify/verdict.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-vfail-'));
const good = join(dir, 'good.iso');
const IMAGE = 'demo/busybox:1.0';

/** qemu processes started for this file's ISOs or evidence (the machine may run others). */
function ourQemus(): string[] {
  const r = spawnSync('pgrep', ['-a', 'qemu'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.includes(dir));
}

/** The El Torito boot images xorriso reports: "BIOS" / "UEFI" per entry. */
function elToritoPlatforms(iso: string): string[] {
  return tool('xorriso', ['-indev', iso, '-report_el_torito', 'plain'])
    .split('\n')
    .flatMap((l) => /^El Torito boot img :\s+\d+\s+(\S+)/.exec(l)?.[1] ?? []);
}

/** A copy of the good ISO with one file replaced; every boot record is replayed unchanged. */
function mapOver(file: string, isoPath: string, out: string): void {
  mapOnto(good, file, isoPath, out);
}

interface VerifyRun {
  status: number | null;
  stdout: string;
  stderr: string;
  outcome: VerifyOutcome;
  evidence: string;
  seconds: number;
}

function verify(name: string, iso: string, firmware: 'bios' | 'uefi', json = true): VerifyRun {
  const evidence = join(dir, `evidence-${name}`);
  const t0 = performance.now();
  const r = cli([
    'verify',
    iso,
    '--engine',
    'docker',
    '--expect',
    IMAGE,
    '--firmware',
    firmware,
    '--evidence-dir',
    evidence,
    ...(json ? ['--json'] : []),
  ]);
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  const index = JSON.parse(readFileSync(join(evidence, 'verify.json'), 'utf8')) as { ok: boolean; outcomes: VerifyOutcome[] };
  const outcome = index.outcomes[0];
  assert.ok(outcome, `no outcome in ${evidence}/verify.json; stderr: ${r.stderr.slice(-2000)}`);
  process.stderr.write(
    `verify-failures ${name}: ${outcome.diagnosisKind} after ${outcome.durationSeconds} s in QEMU (${seconds} s for the whole command)\n`,
  );
  return { ...r, outcome, evidence, seconds };
}

/** What every failed run leaves: the per-run folder, verify.json, and junit.xml naming the failure. */
function assertEvidence(run: VerifyRun, firmware: string, kind: string): void {
  const runDir = join(run.evidence, `${firmware}-cdrom`);
  assert.equal(run.outcome.evidenceDir, runDir);
  assert.equal(run.outcome.media, 'cdrom');
  for (const f of ['serial.log', 'firmware.log', 'report.txt', 'final.png']) assert.ok(existsSync(join(runDir, f)), `${runDir}/${f}`);
  assert.ok(statSync(join(runDir, 'final.png')).size > 0);
  assert.ok(!existsSync(join(runDir, 'OVMF_VARS.fd')), 'the OVMF vars copy is not evidence');
  const junit = readFileSync(join(run.evidence, 'junit.xml'), 'utf8');
  assert.match(junit, /<testsuite name="remaster-verify" tests="1" failures="1"/);
  assert.match(junit, new RegExp(`<testcase classname="remaster-verify" name="${firmware}-cdrom"`));
  assert.match(junit, new RegExp(`<failure message="[^"]+" type="${kind}">`));
  assert.match(junit, /<system-out>[^<]+<\/system-out>/);
}

before(
  async () => {
    const base = await fixtureIso();
    const rootfs = join(dir, 'busybox.tar');
    await writeBusyboxRootfs(rootfs, { mtime: 0 });
    const r = cli([
      'build',
      '--iso',
      base,
      '--out',
      good,
      '--engine',
      'docker',
      '--image',
      `rootfs:${rootfs}=${IMAGE}`,
      '--verify',
      'none',
    ]);
    assert.equal(r.status, 0, r.stderr.slice(-4000));
    assert.deepEqual(elToritoPlatforms(good), ['BIOS', 'UEFI']);
  },
  { timeout: 30 * 60 * 1000 },
);

afterEach(() => {
  assert.deepEqual(ourQemus(), [], 'a QEMU outlived its verify run');
  assert.deepEqual(mountsBelow(dir), []);
});

after(() => {
  assert.deepEqual(mountsBelow(Workspace.forOutput(defaultCacheDir(), good).root), []);
  rmSync(dir, { recursive: true, force: true });
});

test('UEFI entry removed from El Torito, booted with OVMF: "nothing bootable", stopped early', { timeout: 20 * 60 * 1000 }, () => {
  const bad = join(dir, 'no-uefi.iso');
  // Keep the BIOS El Torito entry and an isohybrid MBR (from the good ISO's first 16 blocks, its partition tables
  // zeroed); drop the EFI entry, and with it the EFI partition and GPT.
  tool('xorriso', [
    '-indev',
    good,
    '-outdev',
    bad,
    '-boot_image',
    'any',
    'discard',
    '-boot_image',
    'isolinux',
    `system_area=--interval:imported_iso:0s-15s:zero_mbrpt,zero_gpt:${good}`,
    '-boot_image',
    'any',
    'cat_path=/isolinux/boot.cat',
    '-boot_image',
    'isolinux',
    'bin_path=/isolinux/isolinux.bin',
    '-boot_image',
    'any',
    'emul_type=no_emulation',
    '-boot_image',
    'any',
    'load_size=2048',
    '-boot_image',
    'any',
    'boot_info_table=on',
    '-boot_image',
    'isolinux',
    'partition_table=on',
    '-changes_pending',
    'yes',
  ]);
  assert.deepEqual(elToritoPlatforms(bad), ['BIOS']);

  const run = verify('no-uefi', bad, 'uefi');
  assert.equal(run.status, 1, run.stderr.slice(-3000));
  assert.equal(run.outcome.ok, false);
  assert.equal(run.outcome.diagnosisKind, 'no-bootable-device');
  assert.match(run.outcome.diagnosis ?? '', /found nothing bootable on the medium/);
  assert.match(run.outcome.diagnosis ?? '', /UEFI QEMU DVD-ROM/);
  assert.match(run.stderr, /giving up after [\d.]+ s: no-bootable-device/);
  assertEvidence(run, 'uefi', 'no-bootable-device');
  rmSync(bad, { force: true });
});

test('root squashfs cut in half: refused before booting (exit 2), the host sees it', { timeout: 10 * 60 * 1000 }, () => {
  const fs = join(dir, 'filesystem.squashfs');
  extract(good, '/live/filesystem.squashfs', fs);
  truncateSync(fs, Math.floor(statSync(fs).size / 2));
  const bad = join(dir, 'half-root.iso');
  mapOver(fs, '/live/filesystem.squashfs', bad);
  const r = cli(['verify', bad, '--engine', 'docker', '--expect', IMAGE, '--evidence-dir', join(dir, 'evidence-half')]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /filesystem\.squashfs (extends past the end of the file \(truncated ISO\)|is truncated: its superblock says \d+ bytes, the ISO holds \d+)/,
  );
  assert.ok(!existsSync(join(dir, 'evidence-half')), 'nothing is booted, no evidence folder');
  rmSync(bad, { force: true });
  rmSync(fs, { force: true });
});

test(
  'root squashfs with its last MiB zeroed (tables gone): live-boot cannot mount it, named under BIOS',
  { timeout: 20 * 60 * 1000 },
  () => {
    const fs = join(dir, 'filesystem.squashfs');
    extract(good, '/live/filesystem.squashfs', fs);
    // The squashfs tables live at the end: zeroed, the kernel cannot mount it. Sizes and superblock stay right, so
    // the host's checks pass and only the boot can tell.
    const fd = openSync(fs, 'r+');
    writeSync(fd, Buffer.alloc(1024 * 1024), 0, 1024 * 1024, statSync(fs).size - 1024 * 1024);
    closeSync(fd);
    const bad = join(dir, 'cut-root.iso');
    mapOver(fs, '/live/filesystem.squashfs', bad);
    rmSync(fs, { force: true });

    const run = verify('cut-root', bad, 'bios');
    assert.equal(run.status, 1, run.stderr.slice(-3000));
    assert.equal(run.outcome.diagnosisKind, 'root-not-found');
    assert.match(run.outcome.diagnosis ?? '', /could not mount the live file system/);
    assert.match(run.outcome.diagnosis ?? '', /live\/filesystem\.squashfs/);
    assert.match(run.stderr, /giving up after [\d.]+ s: root-not-found/);
    assertEvidence(run, 'bios', 'root-not-found');
    assert.match(readFileSync(join(run.evidence, 'junit.xml'), 'utf8'), /BOOT FAILED!/);
    rmSync(bad, { force: true });
  },
);

test('image archive deleted from the payload layer: the loader fails, verify quotes its FAILED line', { timeout: 20 * 60 * 1000 }, () => {
  const bad = join(dir, 'no-archive.iso');
  let archives: string[] = [];
  editLayer(good, dir, bad, (tree) => {
    const images = join(tree, 'var/lib/remaster/images');
    archives = readdirSync(images).filter((f) => f.endsWith('.tar.zst'));
    assert.equal(archives.length, 1);
    for (const a of archives) rmSync(join(images, a));
  });

  const run = verify('no-archive', bad, 'bios', false);
  assert.equal(run.status, 1, run.stderr.slice(-3000));
  assert.equal(run.outcome.diagnosisKind, 'loader-failed');
  assert.equal(run.outcome.loaderResult, 'exit-code');
  assert.deepEqual(run.outcome.missing, [IMAGE]);
  // What the user reads: one line naming the run, the loader's failure and its FAILED line, then its journal.
  const archive = `/var/lib/remaster/images/${archives[0]}`;
  const line = run.stdout.split('\n').find((l) => l.startsWith('bios/cdrom: FAIL: '));
  assert.ok(line, run.stdout);
  assert.match(line, /image loader service failed with result exit-code/);
  assert.ok(line.includes(`"FAILED ${IMAGE}: archive ${archive} is missing"`), line);
  assert.match(run.stdout, /last \d+ line\(s\) of its journal:/);
  assert.match(run.stdout, /evidence: .*verify\.json, .*junit\.xml/);
  assertEvidence(run, 'bios', 'loader-failed');
  assert.match(readFileSync(join(run.evidence, 'bios-cdrom', 'report.txt'), 'utf8'), /^loader-result exit-code$/m);
  rmSync(bad, { force: true });
});
