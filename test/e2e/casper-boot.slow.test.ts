// End to end on the Ubuntu-shaped (casper) fixture, whose initrd stacks the root by casper's rule: (1) remaster a
// layered base with podman and boot-verify the result: the guest must hold the image, and casper must have mounted
// exactly the LAYERFS_PATH dot-chain the menus name (remaster's layer on top), not a squashfs outside it; (2) a base
// whose chain lacks a member must not boot, and say which file is missing. (2) is a direct kernel boot that stops at
// casper's panic (panic=-1: the initramfs reboots, QEMU exits), so it costs well under a minute under TCG.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BuildReport } from '../../src/build.js';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { chooseAccel } from '../../src/qemu/accel.js';
import { bootAndCollect } from '../../src/qemu/launch.js';
import { casperIso, cli, mountsBelow } from '../helpers/fixture.js';
import { extract, tool } from '../helpers/iso-surgery.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-casper-boot-'));

test(
  'layered casper, podman, --target live --verify bios: the image is in the guest; casper stacked the menu chain only',
  { timeout: 30 * 60 * 1000 },
  async () => {
    // A squashfs outside every chain, carrying an /etc/issue the serial getty would print if it were mounted.
    const extra = join(dir, 'zz-extra');
    mkdirSync(join(extra, 'etc'), { recursive: true });
    writeFileSync(join(extra, 'etc', 'issue'), 'ZZ-EXTRA-MOUNTED \\n \\l\n\n');
    tool('mksquashfs', [extra, `${extra}.squashfs`, '-noappend', '-comp', 'zstd', '-all-root', '-no-progress', '-quiet']);
    const base = join(dir, 'layered-extra.iso');
    tool('xorriso', [
      '-indev',
      await casperIso('layered'),
      '-outdev',
      base,
      '-map',
      `${extra}.squashfs`,
      '/casper/zz-extra.squashfs',
      '-boot_image',
      'any',
      'replay',
    ]);

    const rootfs = join(dir, 'busybox.tar');
    await writeBusyboxRootfs(rootfs);
    const out = join(dir, 'layered.iso');
    const evidence = join(dir, 'evidence');
    const r = cli([
      'build',
      ...['--iso', base, '--out', out, '--engine', 'podman', '--image', `rootfs:${rootfs}=demo/busybox:1`],
      ...['--target', 'live', '--verify', 'bios', '--serial-console', '--evidence-dir', evidence, '--json'],
    ]);
    assert.equal(r.status, 0, r.stderr.slice(-5000));
    const report = JSON.parse(r.stdout) as BuildReport;
    assert.equal(report.ok, true);
    assert.equal(report.mode, 'layer');
    assert.equal(report.layer?.isoPath, '/casper/minimal.standard.live.remaster.squashfs');
    assert.equal(report.verify.length, 1);
    const v = report.verify[0];
    assert.ok(v);
    assert.equal(v.ok, true, v.diagnosis);
    assert.equal(v.loaderResult, 'success');
    const image = report.images?.images[0];
    assert.equal(v.images.find((i) => i.ref.endsWith('demo/busybox:1'))?.id, image?.imageId, JSON.stringify(v.images));
    assert.match(v.kernelCmdline ?? '', /(^| )layerfs-path=minimal\.standard\.live\.remaster\.squashfs( |$)/);

    const serial = readFileSync(v.serialLog, 'utf8');
    assert.match(serial, /^casper: medium \/dev\/sr0 mounted on \/cdrom\r?$/m);
    assert.match(
      serial,
      /^casper: root: minimal\.squashfs < minimal\.standard\.squashfs < minimal\.standard\.live\.squashfs < minimal\.standard\.live\.remaster\.squashfs \(bottom to top, LAYERFS_PATH=minimal\.standard\.live\.remaster\.squashfs\) \+ tmpfs\r?$/m,
    );
    assert.doesNotMatch(serial, /zz-extra|ZZ-EXTRA-MOUNTED/);
    process.stderr.write(
      `e2e casper layered/bios/${v.accel}: images usable ${v.imagesUsableSeconds} s after kernel start; report ${v.secondsToReport?.toFixed(1)} s after QEMU start\n`,
    );
    assert.deepEqual(mountsBelow(dir), []);
  },
);

test(
  'a layered casper base missing a member of its chain does not boot: casper names the missing file',
  { timeout: 10 * 60 * 1000 },
  async () => {
    const broken = join(dir, 'missing-member.iso');
    tool('xorriso', [
      '-indev',
      await casperIso('layered'),
      '-outdev',
      broken,
      '-rm',
      '/casper/minimal.standard.squashfs',
      '--',
      '-boot_image',
      'any',
      'replay',
    ]);
    const kernel = join(dir, 'vmlinuz');
    const initrd = join(dir, 'initrd');
    extract(broken, '/casper/vmlinuz', kernel);
    extract(broken, '/casper/initrd', initrd);
    const accel = await chooseAccel({ preference: 'auto' });
    // The initrd's own LAYERFS_PATH (minimal.standard.live.squashfs); panic=-1 turns casper's panic into a reboot,
    // which QEMU (-no-reboot) ends.
    const r = await bootAndCollect({
      iso: broken,
      kernel: { kernel, initrd, append: 'console=ttyS0,115200n8 panic=-1' },
      firmware: 'bios',
      accel: accel.accel,
      timeoutMs: 5 * 60 * 1000,
      workDir: join(dir, 'missing-member-boot'),
    });
    const serial = readFileSync(r.serialLogPath, 'utf8');
    assert.match(
      serial,
      /^casper: layer chain of minimal\.standard\.live\.squashfs is incomplete: missing \/casper\/minimal\.standard\.squashfs \(chain: minimal\.squashfs minimal\.standard\.squashfs minimal\.standard\.live\.squashfs\)\r?$/m,
    );
    assert.match(serial, /Rebooting automatically due to panic= boot argument/);
    assert.doesNotMatch(serial, /^casper: root:/m, 'no root may be assembled from an incomplete chain');
    assert.notEqual(r.outcome, 'reported');
    process.stderr.write(`e2e casper missing member: ${r.outcome} after ${(r.durationMs / 1000).toFixed(1)} s (${accel.accel})\n`);
  },
);
