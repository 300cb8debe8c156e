// Unusable input is refused before any work: exit 2, one line saying what was found, no output file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { cli, fixtureIso } from '../helpers/fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-cli-'));
const rootfs = join(dir, 'busybox.tar');

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('remaster: error:'));
}

function refused(r: { status: number | null; stderr: string }, re: RegExp) {
  assert.equal(r.status, 2, r.stderr);
  const errs = errorLines(r.stderr);
  assert.equal(errs.length, 1, r.stderr);
  assert.match(errs[0] ?? '', re);
  assert.match(r.stderr, /^remaster: hint: /m);
}

function makeIso(name: string, files: Record<string, string>): string {
  const tree = join(dir, `${name}-tree`);
  for (const [p, body] of Object.entries(files)) {
    mkdirSync(join(tree, p, '..'), { recursive: true });
    writeFileSync(join(tree, p), body);
  }
  const iso = join(dir, `${name}.iso`);
  const r = spawnSync('xorriso', ['-as', 'mkisofs', '-r', '-V', name, '-o', iso, tree], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return iso;
}

test('inspect --json on the fixture gives flavor, boot and rootfs', { timeout: 30 * 60 * 1000 }, async () => {
  const iso = await fixtureIso();
  const r = cli(['inspect', iso, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.flavor, 'debian-live');
  assert.deepEqual(j.boot.bios, true);
  assert.deepEqual(j.boot.uefi, true);
  assert.equal(j.rootfs.length, 1);
  assert.equal(j.rootfs[0].path, '/live/filesystem.squashfs');
  assert.equal(j.rootfs[0].compression, 'zstd');
  assert.ok(j.rootfs[0].bytes > 50 * 1024 * 1024);
});

test('a file that is not an ISO is refused with what was found', () => {
  const f = join(dir, 'notes.iso');
  writeFileSync(f, 'hello'.repeat(20000));
  refused(cli(['inspect', f]), /is not an ISO 9660 image: found no ISO 9660 signature/);
  const tiny = join(dir, 'tiny.iso');
  writeFileSync(tiny, 'x');
  refused(cli(['inspect', tiny]), /too small to hold an ISO 9660 volume descriptor/);
});

test('an ISO with no Linux root (a memory-tester shape) is refused by build before any work', async () => {
  await writeBusyboxRootfs(rootfs);
  const iso = makeIso('memtest', { 'boot/memtest86+.bin': 'x', 'isolinux/isolinux.cfg': 'default memtest' });
  const out = join(dir, 'out-memtest.iso');
  refused(
    cli(['build', '--iso', iso, '--out', out, '--engine', 'docker', '--image', `rootfs:${rootfs}=a/b:1`, '--verify', 'none']),
    /has no Linux live root filesystem: found 2 files/,
  );
  assert.equal(existsSync(out), false);
});

test('a Debian installer image without a package pool is refused: d-i has nothing to install from', () => {
  const iso = makeIso('netinst', { 'install.amd/vmlinuz': 'k', 'install.amd/initrd.gz': 'i', '.disk/info': 'Debian netinst' });
  refused(cli(['inspect', iso]), /is a Debian installer image without what d-i installs from: no \/dists\/<suite>\/Release/);
});

test('a truncated ISO is refused: its root squashfs runs past the end', { timeout: 30 * 60 * 1000 }, async () => {
  const iso = await fixtureIso();
  const cut = join(dir, 'truncated.iso');
  const r = spawnSync('head', ['-c', String(100 * 1024 * 1024), iso], { maxBuffer: 200 * 1024 * 1024 });
  writeFileSync(cut, r.stdout);
  refused(cli(['inspect', cut]), /truncated/);
});

test('usage errors: unknown flag, bad engine, output equal to input, missing image file', async () => {
  const iso = await fixtureIso();
  refused(cli(['build', '--iso', iso, '--colour']), /Unknown option '--colour'/);
  refused(
    cli(['build', '--iso', iso, '--out', join(dir, 'o.iso'), '--engine', 'lxc', '--image', rootfs]),
    /^remaster: error: engine: expected "docker" or "podman", got "lxc"/,
  );
  refused(cli(['build', '--iso', iso, '--out', iso, '--engine', 'docker', '--image', `rootfs:${rootfs}=a/b:1`]), /--out is the input ISO/);
  refused(
    cli(['build', '--iso', iso, '--out', join(dir, 'o.iso'), '--engine', 'docker', '--image', join(dir, 'nope.tar')]),
    /image file .*nope.tar does not exist/,
  );
  refused(
    cli(['build', '--iso', iso, '--out', join(dir, 'missing-dir', 'o.iso'), '--engine', 'docker', '--image', `rootfs:${rootfs}=a/b:1`]),
    /output folder .*missing-dir does not exist/,
  );
  refused(cli(['frobnicate']), /unknown command "frobnicate"/);
});

test('verify: a power cut needs a store disk verify can make, and an expected image to cut', async () => {
  const iso = await fixtureIso();
  if (!existsSync(rootfs)) await writeBusyboxRootfs(rootfs);
  const verify = (...more: string[]) =>
    cli(['verify', iso, '--engine', 'podman', '--expect', 'a/b:1', '--evidence-dir', join(dir, 'ev'), ...more]);
  refused(verify('--power-cut', 'a/b:1'), /a power cut test needs a store device verify can make/);
  refused(
    verify('--store-device', 'PARTLABEL=store', '--power-cut', 'a/b:1'),
    /verify can make a disk for LABEL=<label> or UUID=<uuid> only/,
  );
  refused(verify('--store-device', 'LABEL=store', '--power-cut', 'other/x:2'), /--power-cut other\/x:2 is not one of the expected images/);
  refused(verify('--store-device', 'LABEL=store', '--power-cut', 'Bad Name'), /--power-cut "Bad Name" is not a valid image name/);
  refused(
    cli([
      'build',
      '--iso',
      iso,
      '--out',
      join(dir, 'o.iso'),
      '--engine',
      'podman',
      '--image',
      `rootfs:${rootfs}=a/b:1`,
      '--store-device',
      'LABEL=$(reboot)',
    ]),
    /^remaster: error: storeDevice: expected LABEL=<label>/,
  );
});
