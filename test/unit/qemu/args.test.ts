import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootPaths, qemuArgs, qemuOptValue } from '../../../src/qemu/args.js';

const paths = bootPaths('/w');
const common = [
  '-m',
  '2048',
  '-smp',
  '2',
  '-display',
  'none',
  '-device',
  'VGA',
  '-serial',
  'file:/w/serial.log',
  '-chardev',
  'file,id=fwlog,path=/w/firmware.log',
  '-device',
  'isa-debugcon,iobase=0x402,chardev=fwlog',
  '-qmp',
  'unix:/w/qmp.sock,server=on,wait=off',
  '-device',
  'virtio-serial-pci',
  '-chardev',
  'file,id=report,path=/w/report.txt',
  '-device',
  'virtserialport,chardev=report,name=org.remaster.report',
  '-nic',
  'none',
  '-no-reboot',
];

test('bootPaths puts everything in the work dir', () => {
  assert.deepEqual(paths, {
    serialLog: '/w/serial.log',
    firmwareLog: '/w/firmware.log',
    reportFile: '/w/report.txt',
    qmpSocket: '/w/qmp.sock',
    bootMenuPng: '/w/boot-menu.png',
    finalPng: '/w/final.png',
  });
});

test('qemuArgs: bios, cdrom, tcg (defaults)', () => {
  assert.deepEqual(qemuArgs({ iso: '/isos/a.iso', firmware: { kind: 'bios' }, accel: 'tcg', paths }), [
    '-name',
    'remaster-verify',
    '-no-user-config',
    '-nodefaults',
    '-machine',
    'q35,accel=tcg',
    ...common,
    '-drive',
    'file=/isos/a.iso,media=cdrom,readonly=on,format=raw',
    '-boot',
    'order=d',
  ]);
});

test('qemuArgs: uefi, cdrom, kvm', () => {
  const argv = qemuArgs({
    iso: '/isos/a.iso',
    firmware: { kind: 'uefi', code: '/fw/CODE.fd', vars: '/w/OVMF_VARS.fd', varsTemplate: '/fw/VARS.fd', secureBoot: false },
    media: 'cdrom',
    accel: 'kvm',
    paths,
  });
  assert.deepEqual(argv, [
    '-name',
    'remaster-verify',
    '-no-user-config',
    '-nodefaults',
    '-machine',
    'q35,accel=kvm',
    '-cpu',
    'host',
    ...common,
    '-drive',
    'if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd',
    '-drive',
    'if=pflash,format=raw,unit=1,file=/w/OVMF_VARS.fd',
    '-drive',
    'file=/isos/a.iso,media=cdrom,readonly=on,format=raw',
    '-boot',
    'order=d',
  ]);
  assert.ok(!argv.includes('-kernel'), 'boots through the ISO’s own loader');
});

test('qemuArgs: bios, usb, tcg, custom memory/cpus/port', () => {
  assert.deepEqual(
    qemuArgs({
      iso: '/isos/a.iso',
      firmware: { kind: 'bios' },
      media: 'usb',
      accel: 'tcg',
      memoryMiB: 4096,
      cpus: 1,
      reportPort: 'org.example.port',
      paths,
    }),
    [
      '-name',
      'remaster-verify',
      '-no-user-config',
      '-nodefaults',
      '-machine',
      'q35,accel=tcg',
      '-m',
      '4096',
      '-smp',
      '1',
      ...common.slice(4, -5),
      '-device',
      'virtserialport,chardev=report,name=org.example.port',
      '-nic',
      'none',
      '-no-reboot',
      '-device',
      'qemu-xhci,id=xhci',
      '-drive',
      'if=none,id=stick,format=raw,readonly=on,file=/isos/a.iso',
      '-device',
      'usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0',
    ],
  );
});

test('qemuArgs: uefi, usb, kvm', () => {
  const argv = qemuArgs({
    iso: '/isos/a.iso',
    firmware: { kind: 'uefi', code: '/fw/CODE.fd', vars: '/w/OVMF_VARS.fd', varsTemplate: '/fw/VARS.fd', secureBoot: false },
    media: 'usb',
    accel: 'kvm',
    paths,
  });
  assert.deepEqual(argv.slice(-10), [
    '-drive',
    'if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd',
    '-drive',
    'if=pflash,format=raw,unit=1,file=/w/OVMF_VARS.fd',
    '-device',
    'qemu-xhci,id=xhci',
    '-drive',
    'if=none,id=stick,format=raw,readonly=on,file=/isos/a.iso',
    '-device',
    'usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0',
  ]);
  assert.ok(!argv.includes('-boot'));
  assert.equal(argv[argv.indexOf('-machine') + 1], 'q35,accel=kvm');
});

test('qemuArgs never writes to the ISO and escapes commas in paths', () => {
  assert.equal(qemuOptValue('/a,b/c.iso'), '/a,,b/c.iso');
  const argv = qemuArgs({ iso: '/a,b/c.iso', firmware: { kind: 'bios' }, accel: 'tcg', paths });
  assert.ok(argv.includes('file=/a,,b/c.iso,media=cdrom,readonly=on,format=raw'));
  for (const a of argv.filter((x) => x.includes('c.iso'))) assert.match(a, /readonly=on/);
});

test('qemuArgs: store disks are writable virtio disks, before the boot medium, commas escaped', () => {
  const args = qemuArgs({ iso: '/isos/a.iso', firmware: { kind: 'bios' }, accel: 'tcg', paths, disks: ['/w/store,1.img'] });
  const at = args.indexOf('file=/w/store,,1.img,if=virtio,format=raw,cache=writeback');
  assert.ok(at > 0, args.join(' '));
  assert.equal(args[at - 1], '-drive');
  assert.ok(at < args.indexOf('file=/isos/a.iso,media=cdrom,readonly=on,format=raw'));
  assert.deepEqual(args.slice(-2), ['-boot', 'order=d'], 'the CD stays the boot device');
});

test('qemuArgs: Secure Boot enforced needs SMM and the flash in secure mode', () => {
  const argv = qemuArgs({
    iso: '/isos/a.iso',
    firmware: { kind: 'uefi', code: '/fw/CODE.ms.fd', vars: '/w/OVMF_VARS.fd', varsTemplate: '/fw/VARS.ms.fd', secureBoot: true },
    media: 'cdrom',
    accel: 'tcg',
    paths,
  });
  assert.deepEqual(argv.slice(4, 6), ['-machine', 'q35,accel=tcg,smm=on']);
  const i = argv.indexOf('-global');
  assert.deepEqual(argv.slice(i, i + 4), [
    '-global',
    'driver=cfi.pflash01,property=secure,value=on',
    '-drive',
    'if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.ms.fd',
  ]);
});

test('qemuArgs: an installer started by its kernel (the ISO attached, not booted), then the installed disk booted', () => {
  const kernel = { kernel: '/w/vmlinuz', initrd: '/w/initrd.gz', append: 'auto=true priority=critical console=ttyS0,115200n8' };
  const install = qemuArgs({
    iso: '/isos/a.iso',
    kernel,
    firmware: { kind: 'bios' },
    media: 'disk',
    accel: 'tcg',
    paths,
    disks: ['/w/disk.img'],
    isolatedNic: true,
  });
  // A card as on a real server, leading nowhere: restrict=on cuts the guest off from the host and the outside.
  assert.equal(install[install.indexOf('-nic') + 1], 'user,model=virtio-net-pci,restrict=on');
  const tail = install.slice(install.indexOf('-kernel'));
  assert.deepEqual(tail, [
    '-kernel',
    '/w/vmlinuz',
    '-initrd',
    '/w/initrd.gz',
    '-append',
    'auto=true priority=critical console=ttyS0,115200n8',
    '-drive',
    'file=/w/disk.img,if=virtio,format=raw,cache=writeback',
    '-drive',
    'file=/isos/a.iso,media=cdrom,readonly=on,format=raw',
  ]);
  const boot = qemuArgs({ firmware: { kind: 'bios' }, media: 'disk', accel: 'tcg', paths, disks: ['/w/disk.img'] });
  assert.equal(boot[boot.indexOf('-nic') + 1], 'none');
  assert.deepEqual(boot.slice(-4), [
    '-drive',
    'file=/w/disk.img,if=none,id=disk0,format=raw,cache=writeback',
    '-device',
    'virtio-blk-pci,drive=disk0,bootindex=0',
  ]);
  assert.throws(() => qemuArgs({ firmware: { kind: 'bios' }, media: 'cdrom', accel: 'tcg', paths }), /needs the ISO/);
});
