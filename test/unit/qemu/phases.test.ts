import assert from 'node:assert/strict';
import { test } from 'node:test';
import { menuShotDecision } from '../../../src/qemu/watch.js';
import { PHASE_ORDER, type Phase, PhaseTracker, phaseLabel, phaseMarkers, stripTerminalCodes } from '../../../src/qemu/phases.js';
import { fixture } from './fixtures.js';

test('stripTerminalCodes removes escapes and control bytes but keeps text', () => {
  assert.equal(stripTerminalCodes('\x1b[2J\x1b[01;01H\x1b[=3hBdsDxe: loading\r'), 'BdsDxe: loading');
  assert.equal(
    stripTerminalCodes('Welcome to \x1b[1mDebian GNU/Linux 12 (bookworm)\x1b[0m!\r'),
    'Welcome to Debian GNU/Linux 12 (bookworm)!',
  );
  assert.equal(stripTerminalCodes('\x1be\x1b%@\x1b)0\x1b(B\x1b[0;37;40m\x0elqk\x0f'), 'lqk');
});

test('phaseMarkers', () => {
  assert.deepEqual(phaseMarkers('Booting from 0000:7c00', 'firmware'), ['bootloader']);
  assert.deepEqual(phaseMarkers('Booting from DVD/CD...', 'firmware'), []);
  assert.deepEqual(phaseMarkers('BdsDxe: starting Boot0001 "UEFI QEMU DVD-ROM QM00001 " from PciRoot(0x0)', 'serial'), ['bootloader']);
  assert.deepEqual(phaseMarkers('BdsDxe: starting Boot0002 "EFI Internal Shell" from Fv(7CB8)', 'serial'), []);
  assert.deepEqual(phaseMarkers('Welcome to GRUB!', 'serial'), ['bootloader']);
  assert.deepEqual(phaseMarkers('[    0.000000] Linux version 6.1.0-50-amd64 (debian-kernel@lists.debian.org)', 'serial'), ['kernel']);
  assert.deepEqual(phaseMarkers('[   29.6] systemd[1]: Inserted module', 'serial'), ['userspace']);
  assert.deepEqual(phaseMarkers('Welcome to Debian GNU/Linux 12 (bookworm)!', 'serial'), ['userspace']);
  assert.deepEqual(phaseMarkers('debian-live login: ', 'serial'), ['userspace']);
});

test('PhaseTracker on a captured Debian live BIOS boot', () => {
  const seen: Phase[] = [];
  const t = new PhaseTracker((p) => seen.push(p));
  t.feed('firmware', fixture('seabios-boot.firmware.log'), 100);
  const serial = fixture('debian-live-bios.serial.log');
  const kernelAt = serial.indexOf('Linux version');
  const userAt = serial.indexOf('systemd[1]');
  t.feed('serial', serial.slice(0, kernelAt), 700);
  t.feed('serial', serial.slice(kernelAt, userAt), 8000);
  t.feed('serial', serial.slice(userAt), 38000);
  t.mark('reported', 50000);
  assert.deepEqual(t.phases, [
    { name: 'firmware', atMs: 100 },
    { name: 'bootloader', atMs: 100 },
    { name: 'kernel', atMs: 8000 },
    { name: 'userspace', atMs: 38000 },
    { name: 'reported', atMs: 50000 },
  ]);
  assert.deepEqual(
    seen.map((p) => p.name),
    ['firmware', 'bootloader', 'kernel', 'userspace', 'reported'],
  );
  assert.equal(t.menuSeenAtMs, 700, 'isolinux menu.c32 draws "Automatic boot in" on serial');
  assert.equal(t.lastPhase(), 'reported');
});

test('PhaseTracker on a captured OVMF + GRUB start: bootloader and menu from serial', () => {
  const t = new PhaseTracker();
  t.feed('serial', fixture('ovmf-grub-menu.serial.log'), 9000);
  assert.deepEqual(t.phases, [
    { name: 'firmware', atMs: 9000 },
    { name: 'bootloader', atMs: 9000 },
  ]);
  assert.equal(t.menuSeenAtMs, 9000);
});

test('PhaseTracker joins lines split across reads and keeps the first time', () => {
  const t = new PhaseTracker();
  t.feed('serial', '[    0.000000] Linux ver', 1000);
  assert.equal(t.has('kernel'), false);
  t.feed('serial', 'sion 6.1.0\r\n', 1250);
  t.feed('serial', '[    0.1] Linux version again\r\n', 5000);
  assert.deepEqual(t.get('kernel'), { name: 'kernel', atMs: 1250 });
  assert.equal(t.has('bootloader'), false, 'phases the logs never show stay absent');
  t.feed('serial', '', 6000);
  assert.equal(t.phases.length, 2);
});

test('menuShotDecision: after the menu, else after the boot loader, else a fixed time; never after the kernel', () => {
  const none = { kernelSeen: false };
  assert.equal(menuShotDecision(2900, none, 'kvm'), 'wait');
  assert.equal(menuShotDecision(3000, none, 'kvm'), 'now');
  assert.equal(menuShotDecision(7900, none, 'tcg'), 'wait');
  assert.equal(menuShotDecision(8000, none, 'tcg'), 'now');
  assert.equal(menuShotDecision(8000, { kernelSeen: false, firmwareAtMs: 6600 }, 'tcg'), 'wait', 'OVMF is slow to speak');
  assert.equal(menuShotDecision(14_600, { kernelSeen: false, firmwareAtMs: 6600 }, 'tcg'), 'now');
  assert.equal(menuShotDecision(1000, { kernelSeen: false, menuAtMs: 600 }, 'kvm'), 'wait');
  assert.equal(menuShotDecision(1100, { kernelSeen: false, menuAtMs: 600 }, 'kvm'), 'now');
  assert.equal(menuShotDecision(1700, { kernelSeen: false, menuAtMs: 600 }, 'tcg'), 'wait');
  assert.equal(menuShotDecision(1800, { kernelSeen: false, menuAtMs: 600 }, 'tcg'), 'now');
  assert.equal(menuShotDecision(10_000, { kernelSeen: false, bootloaderAtMs: 9000 }, 'tcg'), 'wait');
  assert.equal(menuShotDecision(12_000, { kernelSeen: false, bootloaderAtMs: 9000 }, 'tcg'), 'now');
  assert.equal(menuShotDecision(1900, { kernelSeen: false, bootloaderAtMs: 400 }, 'kvm'), 'now');
  assert.equal(menuShotDecision(2000, { kernelSeen: true, menuAtMs: 600 }, 'tcg'), 'missed');
});

test('PhaseTracker on a captured Debian live UEFI boot (OVMF + GRUB on serial)', () => {
  const serial = fixture('debian-live-uefi.serial.log');
  const t = new PhaseTracker();
  const cuts = [serial.indexOf('BdsDxe: starting'), serial.indexOf('Linux version'), serial.indexOf('systemd[1]'), serial.length];
  let from = 0;
  cuts.forEach((to, i) => {
    t.feed('serial', serial.slice(from, to), (i + 1) * 1000);
    from = to;
  });
  assert.deepEqual(
    t.phases.map((p) => [p.name, p.atMs]),
    [
      ['firmware', 1000],
      ['bootloader', 2000],
      ['kernel', 3000],
      ['userspace', 4000],
    ],
  );
  assert.equal(t.menuSeenAtMs, 2000);
});

test('the loader phase: systemd starting remaster-loader, or the loader own lines (captured serial lines)', () => {
  const starting = stripTerminalCodes('         Starting \x1b[0;1;39mremaster-loader.s…ed container images into podman...');
  assert.deepEqual(phaseMarkers(starting, 'serial'), ['loader']);
  assert.deepEqual(phaseMarkers('[   42.901749] remaster-loader[418]: present: demo/web:1.0 (9227de874873)', 'serial'), ['loader']);
  const t = new PhaseTracker();
  t.mark('reported', 50000);
  t.mark('loader', 40000);
  assert.deepEqual(
    t.phases.map((p) => p.name),
    ['loader', 'reported'],
  );
  assert.deepEqual(PHASE_ORDER.map(phaseLabel), ['firmware', 'bootloader', 'kernel', 'userspace', 'loader', 'done']);
});
