import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../../src/errors.js';
import { bootSetup, classify, moduleStack } from '../../../src/iso/inspect.js';
import { pvdDate } from '../../../src/iso/probe.js';
import type { IsoReport } from '../../../src/iso/xorriso.js';

function report(paths: string[]): IsoReport {
  return {
    files: paths.map((path, i) => ({ path, lba: 100 + i, bytes: 2048 })),
    elTorito: { images: [] },
    systemArea: { summary: '', mbr: [], gpt: false },
  };
}

test('classify: Debian live', () => {
  const l = classify(report(['/live/filesystem.squashfs', '/live/vmlinuz', '/live/initrd.img', '/isolinux/isolinux.cfg']));
  assert.equal(l.flavor, 'debian-live');
  assert.deepEqual(
    l.squashfs.map((f) => f.path),
    ['/live/filesystem.squashfs'],
  );
  assert.deepEqual(l.kernels, ['/live/vmlinuz']);
  assert.deepEqual(l.initrds, ['/live/initrd.img']);
});

test('classify: live-boot layers in sorted order, module file noticed', () => {
  const l = classify(report(['/live/zz.squashfs', '/live/filesystem.squashfs', '/live/filesystem.module']));
  assert.deepEqual(
    l.squashfs.map((f) => f.path),
    ['/live/filesystem.squashfs', '/live/zz.squashfs'],
  );
  assert.equal(l.moduleFile, '/live/filesystem.module');
});

test('classify: Ubuntu casper layered, chain order by dotted names', () => {
  const l = classify(
    report(['/casper/minimal.standard.live.squashfs', '/casper/minimal.squashfs', '/casper/minimal.standard.squashfs', '/casper/vmlinuz']),
  );
  assert.equal(l.flavor, 'ubuntu-casper');
  assert.deepEqual(
    l.squashfs.map((f) => f.path),
    ['/casper/minimal.squashfs', '/casper/minimal.standard.squashfs', '/casper/minimal.standard.live.squashfs'],
  );
});

test('classify: a Debian netinst (d-i, a package pool, base_installable) is a base of its own', () => {
  const l = classify(
    report([
      '/install.amd/vmlinuz',
      '/install.amd/initrd.gz',
      '/dists/trixie/Release',
      '/.disk/base_installable',
      '/pool/main/b/base-files/b.deb',
    ]),
  );
  assert.equal(l.flavor, 'debian-installer');
  assert.deepEqual(l.squashfs, []);
});

test('classify refuses an incomplete Debian installer image with a line that names what it lacks', () => {
  const refused = (paths: string[], what: RegExp) =>
    assert.throws(
      () => classify(report(paths), 'netinst.iso'),
      (e: unknown) =>
        e instanceof UsageError && e.exitCode === 2 && /Debian installer image without/.test(e.message) && what.test(e.message),
    );
  refused(['/install.amd/vmlinuz', '/install.amd/initrd.gz', '/pool/main/d/debian-installer/x.udeb'], /no \/dists\/<suite>\/Release/);
  refused(['/install.amd/vmlinuz', '/install.amd/initrd.gz', '/dists/trixie/Release'], /no \/\.disk\/base_installable/);
  refused(['/install.amd/initrd.gz', '/dists/trixie/Release', '/.disk/base_installable'], /no \/install\*\/vmlinuz/);
});

test('classify refuses an ISO with no Linux root (memtest-like)', () => {
  assert.throws(
    () => classify(report(['/boot/memtest86+.bin', '/isolinux/isolinux.cfg']), 'memtest.iso'),
    (e: unknown) => e instanceof UsageError && /no Linux live root filesystem: found 2 files/.test(e.message),
  );
});

test('bootSetup: an appended EFI partition (Ubuntu shape) counts as UEFI', () => {
  const b = bootSetup({
    files: [],
    elTorito: { images: [{ index: 1, platform: 'BIOS', bootable: true, emulation: 'none', loadSize: 4, lba: 10, options: [] }] },
    systemArea: {
      summary: 'MBR protective-msdos-label grub2-mbr cyl-align-off GPT',
      gpt: true,
      isoSizeBlocks512: 1000,
      mbr: [
        { index: 1, bootable: false, type: 0x00, start: 0, blocks: 1000 },
        { index: 2, bootable: false, type: 0xef, start: 1000, blocks: 10000 },
      ],
    },
  });
  assert.deepEqual([b.bios, b.uefi, b.hybrid, b.gpt, b.appendedEfiPartition], [true, true, true, true, true]);
});

test('pvdDate: the volume modification date as GRUB sees it (GMT), or nothing when unset', () => {
  const pvd = Buffer.alloc(2048);
  pvd.write('2024010112000000', 830, 'latin1');
  pvd.writeInt8(0, 846);
  assert.equal(pvdDate(pvd, 830), '2024010112000000');
  pvd.writeInt8(8, 846); // +02:00
  assert.equal(pvdDate(pvd, 830), '2024010110000000');
  assert.equal(pvdDate(Buffer.alloc(2048, 0x30), 830), undefined);
});

test('live-boot filesystem.module: the listed images in listed order, a missing one refused', () => {
  const files = ['/live/a.squashfs', '/live/b.squashfs', '/live/z.squashfs'].map((path, i) => ({ path, lba: 100 + i, bytes: 4096 }));
  const report = { files, elTorito: { images: [] }, systemArea: { summary: '', mbr: [], gpt: false } };
  assert.deepEqual(
    moduleStack(report, 'b.squashfs\na.squashfs\n', '/live/filesystem.module').map((f) => f.path),
    ['/live/b.squashfs', '/live/a.squashfs'],
  );
  assert.throws(() => moduleStack(report, 'a.squashfs c.squashfs', '/live/filesystem.module'), /lists c\.squashfs, which the ISO lacks/);
});
