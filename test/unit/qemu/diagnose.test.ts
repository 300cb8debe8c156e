import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diagnose, diagnoseDetail, FATAL_KINDS, loaderReasons } from '../../../src/qemu/diagnose.js';
import { parseGuestReport } from '../../../src/qemu/report.js';
import { fixture } from './fixtures.js';

test('SeaBIOS: no bootable device (captured from an ISO without El Torito)', () => {
  const d = diagnoseDetail(fixture('seabios-no-bootable.firmware.log'));
  assert.equal(d?.kind, 'no-bootable-device');
  assert.match(d?.message ?? '', /No bootable device/);
  assert.match(d?.message ?? '', /Could not read from CDROM \(code 0004\)/);
});

test('OVMF: the DVD fails to load and OVMF falls back to its shell (captured)', () => {
  const d = diagnoseDetail(fixture('ovmf-no-bootable.serial.log'));
  assert.equal(d?.kind, 'no-bootable-device');
  assert.match(d?.message ?? '', /BdsDxe: failed to load Boot0001 "UEFI QEMU DVD-ROM/);
});

test('OVMF without a shell: "No bootable option or device was found"', () => {
  const log = 'BdsDxe: No bootable option or device was found.\r\nBdsDxe: Press any key to enter the Boot Manager Menu.\r\n';
  assert.equal(diagnoseDetail(log)?.kind, 'no-bootable-device');
});

test('a failed boot option that is followed by a working one is not a failure', () => {
  const log = [
    'BdsDxe: failed to load Boot0001 "UEFI PXEv4" from PciRoot(0x0): Not Found',
    'BdsDxe: loading Boot0002 "UEFI QEMU DVD-ROM QM00001 " from PciRoot(0x0)/Pci(0x1F,0x2)',
    'BdsDxe: starting Boot0002 "UEFI QEMU DVD-ROM QM00001 " from PciRoot(0x0)/Pci(0x1F,0x2)',
    'Welcome to GRUB!',
  ].join('\r\n');
  assert.equal(diagnoseDetail(log, undefined, { outcome: 'timeout' })?.kind, 'timeout');
});

test('GRUB: kernel file missing', () => {
  const log =
    "\x1b[H\x1b[J  Booting `Debian GNU/Linux live (amd64)'\r\n\r\nerror: file `/live/vmlinuz' not found.\r\nerror: you need to load the kernel first.\r\n\r\nPress any key to continue...";
  const d = diagnoseDetail(log);
  assert.equal(d?.kind, 'bootloader-error');
  assert.match(d?.message ?? '', /error: file `\/live\/vmlinuz' not found/);
});

test('isolinux: could not find kernel image', () => {
  const log =
    'ISOLINUX 6.04 20200816  Copyright (C) 1994-2015 H. Peter Anvin et al\r\nCould not find kernel image: /live/vmlinuz\r\nboot: ';
  const d = diagnoseDetail(log);
  assert.equal(d?.kind, 'bootloader-error');
  assert.match(d?.message ?? '', /Could not find kernel image: \/live\/vmlinuz/);
});

test('GRUB "error:" lines after the kernel started are not boot loader errors', () => {
  const log = '[    0.000000] Linux version 6.1.0-50-amd64\r\nerror: something in userspace\r\n';
  assert.equal(diagnoseDetail(log, undefined, { outcome: 'timeout' })?.kind, 'timeout');
});

test('live-boot: no medium containing a live file system, then the initramfs shell', () => {
  const log = [
    '[    1.234567] Linux version 6.1.0-50-amd64 (debian-kernel@lists.debian.org)',
    'Begin: Running /scripts/live-premount ... done.',
    'Begin: Mounting root file system ... Begin: Running /scripts/live-realpremount ... done.',
    'Begin: Mounting "/run/live/medium" ... done.',
    'Unable to find a medium containing a live file system',
    '',
    'BusyBox v1.35.0 (Debian 1:1.35.0-4+b3) built-in shell (ash)',
    "Enter 'help' for a list of built-in commands.",
    '',
    '(initramfs) ',
  ].join('\r\n');
  const d = diagnoseDetail(log);
  assert.equal(d?.kind, 'root-not-found');
  assert.match(d?.message ?? '', /Unable to find a medium containing a live file system/);
});

test('casper / plain initramfs-tools: gave up waiting, dropped to (initramfs)', () => {
  const log = [
    '[    1.0] Linux version 6.8.0-31-generic',
    'Gave up waiting for root file system device.  Common problems:',
    'ALERT!  /dev/disk/by-label/ISO does not exist.  Dropping to a shell!',
    '(initramfs) ',
  ].join('\n');
  assert.equal(diagnoseDetail(log)?.kind, 'root-not-found');
  assert.equal(diagnoseDetail('[ 1.0] Linux version 6\n(initramfs) \n')?.kind, 'root-not-found');
});

test('VFS cannot mount root counts as root-not-found, other panics as kernel-panic', () => {
  assert.equal(
    diagnoseDetail('[    2.1] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n')?.kind,
    'root-not-found',
  );
  const d = diagnoseDetail(
    '[    3.2] Run /init as init process\n[    3.9] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\n',
  );
  assert.equal(d?.kind, 'kernel-panic');
  assert.match(d?.message ?? '', /Attempted to kill init!/);
});

test('a report with a failed loader names the result and quotes its journal', () => {
  const report = parseGuestReport(
    'remaster-report 1\nengine docker\nloader-result exit-code\nloader-exit 1\nfailed-unit remaster-load.service\njournal open /opt/remaster/images.tar: no such file\nend\n',
  );
  const d = diagnoseDetail('', report);
  assert.equal(d?.kind, 'loader-failed');
  assert.match(d?.message ?? '', /result exit-code, exit status 1/);
  assert.match(d?.message ?? '', /failed units: remaster-load.service/);
  assert.match(d?.message ?? '', /open \/opt\/remaster\/images.tar: no such file/);
});

test('a complete, successful report needs no diagnosis', () => {
  const report = parseGuestReport('remaster-report 1\nengine docker\nloader-result success\nloader-exit 0\nend\n');
  assert.equal(diagnose('whatever', report), undefined);
});

test('a truncated report is reported as such', () => {
  const report = parseGuestReport('remaster-report 1\nengine docker\n');
  assert.equal(diagnoseDetail('[ 1.0] Linux version 6\n', report)?.kind, 'report-truncated');
});

test('timeout with the real Debian live console: booted to a login prompt, no report', () => {
  const d = diagnoseDetail(fixture('debian-live-bios.serial.log'), undefined, {
    outcome: 'timeout',
    lastPhase: 'userspace',
    timeoutMs: 240_000,
  });
  assert.equal(d?.kind, 'timeout');
  assert.match(d?.message ?? '', /within 240 s/);
  assert.match(d?.message ?? '', /"debian-live login:"/);
});

test('timeout with nothing known: says how far it got and the last line', () => {
  const msg = diagnose('[ 0.0] Linux version 6\n[ 5.0] random: crng init done\n', undefined, {
    outcome: 'timeout',
    lastPhase: 'kernel',
  });
  assert.match(msg ?? '', /got as far as kernel/);
  assert.match(msg ?? '', /crng init done/);
  assert.match(diagnose('', undefined, { outcome: 'timeout' }) ?? '', /serial console stayed silent/);
});

test('the guest powering off without a report', () => {
  assert.equal(diagnoseDetail('hello\n', undefined, { outcome: 'exited-without-report' })?.kind, 'exited-without-report');
});

test('live-boot cannot mount a truncated squashfs: BOOT FAILED, quoted reason (captured, SeaBIOS)', () => {
  const log = [
    '[    0.000000] Linux version 6.1.0-50-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0)',
    'Begin: Running /scripts/live-realpremount ... done.\r',
    '[   14.756196] squashfs: version 4.0 (2009/01/31) Phillip Lougher\r',
    '\r',
    '  \x1b[1;37mBOOT FAILED!\x1b[0m\r',
    '\r',
    '  This Live System image failed to boot.\r',
    '  live-boot will now start a shell. The error message was:\r',
    '\r',
    '    Can not mount /dev/loop0 (/run/live/medium/live/filesystem.squashfs) on /run/live/rootfs/filesystem.squashfs\r',
    '\r',
    'BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) built-in shell (ash)\r',
    '(initramfs) \x1b[6n',
  ].join('\n');
  const d = diagnoseDetail(log, undefined, { outcome: 'timeout' });
  assert.equal(d?.kind, 'root-not-found');
  assert.match(
    d?.message ?? '',
    /live-boot could not mount the live file system: "Can not mount \/dev\/loop0 \(\/run\/live\/medium\/live\/filesystem\.squashfs\)/,
  );
  assert.match(d?.message ?? '', /damaged or truncated/);
  const withKernel = diagnoseDetail(
    log.replace('Phillip Lougher', 'Phillip Lougher\n[ 14.8] SQUASHFS error: unable to read id index table'),
  );
  assert.match(withKernel?.message ?? '', /kernel: "\[ 14.8\] SQUASHFS error: unable to read id index table"/);
});

test('a failed loader: its FAILED lines are in the first line of the diagnosis (captured journal)', () => {
  const report = parseGuestReport(
    [
      'remaster-report 1',
      'engine docker',
      'loader-result exit-code',
      'loader-exit 1',
      'failed-unit remaster-loader.service',
      'journal Starting remaster-loader.service - remaster: load preloaded container images into docker...',
      'journal FAILED demo/busybox:1.0: archive /var/lib/remaster/images/demo_busybox_1.0-bfe4a9ef.tar.zst is missing',
      'journal summary: 1 images, 0 loaded, 0 already present, 1 failed',
      'journal remaster-loader.service: Main process exited, code=exited, status=1/FAILURE',
      "journal remaster-loader.service: Failed with result 'exit-code'.",
      'end',
    ].join('\n'),
  );
  const d = diagnoseDetail('', report);
  assert.equal(d?.kind, 'loader-failed');
  const first = (d?.message ?? '').split('\n')[0] ?? '';
  assert.match(
    first,
    /image loader service failed with result exit-code, exit status 1: "FAILED demo\/busybox:1.0: archive \/var\/lib\/remaster\/images\/demo_busybox_1.0-bfe4a9ef.tar.zst is missing"/,
  );
  assert.match(first, /failed units: remaster-loader.service$/);
});

test('loaderReasons: FAILED lines first, else error-looking lines, never systemd boilerplate', () => {
  assert.deepEqual(loaderReasons(['loading: a', 'FAILED a: docker load failed: x', 'FAILED b: archive y is missing']), [
    'FAILED a: docker load failed: x',
    'FAILED b: archive y is missing',
  ]);
  assert.deepEqual(loaderReasons(['manifest /var/lib/remaster/images.tsv is missing: nothing to load']), [
    'manifest /var/lib/remaster/images.tsv is missing: nothing to load',
  ]);
  assert.deepEqual(
    loaderReasons([
      'Cannot connect to the Docker daemon at unix:///var/run/docker.sock',
      "remaster-loader.service: Failed with result 'exit-code'.",
    ]),
    ['Cannot connect to the Docker daemon at unix:///var/run/docker.sock'],
  );
  assert.deepEqual(loaderReasons([]), []);
});

test('Secure Boot refusals are told apart from a medium with nothing bootable', () => {
  const unsignedLoader = diagnoseDetail(fixture('ovmf-sb-neg-fixture-sb.serial.log'));
  assert.equal(unsignedLoader?.kind, 'secure-boot-refused');
  assert.match(
    unsignedLoader?.message ?? '',
    /^Secure Boot refused to run the boot chain: "BdsDxe: failed to load Boot0001 .*: Access Denied"/,
  );
  const unsignedKernel = diagnoseDetail(fixture('ovmf-sb-neg-unsigned-kernel-sb.serial.log'));
  assert.equal(unsignedKernel?.kind, 'secure-boot-refused');
  assert.match(unsignedKernel?.message ?? '', /"error: bad shim signature\."/);
  assert.ok(FATAL_KINDS.has('secure-boot-refused'), 'waiting longer does not help');
  // An installed Debian 13 disk under Secure Boot: the signed GRUB refuses a module its grub.cfg asks for, says
  // "prohibited by secure boot policy", and boots the kernel anyway (captured; the run was once stopped right there).
  const lockdown = fixture('installed-sb-grub-lockdown.serial.log');
  assert.match(lockdown, /error: prohibited by secure boot policy\.[\s\S]*Loading Linux/);
  const d = diagnoseDetail(lockdown);
  assert.ok(d === undefined || !FATAL_KINDS.has(d.kind), `not a reason to stop the boot: ${JSON.stringify(d)}`);
});
