import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editArgs, editGrubCfg, editIsolinuxCfg, isolinuxTimeout } from '../../../src/iso/menus.js';

const kernels = ['/casper/vmlinuz', '/live/vmlinuz'];

test('arguments go before --- (what follows is for the installed system) and an existing value is not repeated', () => {
  const other: string[] = [];
  const r = editArgs('quiet splash --- maybe', { kernels, serial: true, addArgs: ['a=1'] }, other);
  assert.equal(r.args, 'quiet splash console=tty0 console=ttyS0,115200n8 a=1 --- maybe');
  assert.equal(editArgs('console=tty0 console=ttyS0,115200n8', { kernels, serial: true }, other).changed, false);
  assert.equal(editArgs('boot=live', { kernels, addArgs: ['x'] }, other).args, 'boot=live x');
});

test('casper layer path: set where the entry boots the chain we extended, left (and reported) elsewhere', () => {
  const e = { kernels, layerfs: { from: 'a.b.squashfs', to: 'a.b.remaster.squashfs', initrdDefault: 'a.b.squashfs' } };
  const other: string[] = [];
  assert.equal(editArgs('quiet ---', e, other).args, 'quiet layerfs-path=a.b.remaster.squashfs ---');
  assert.equal(editArgs('layerfs-path=a.b.squashfs ---', e, other).args, 'layerfs-path=a.b.remaster.squashfs ---');
  assert.equal(editArgs('layerfs-path=a.c.squashfs ---', e, other).changed, false);
  assert.deepEqual(other, ['a.c.squashfs']);
});

const grub = [
  'set timeout=30',
  'menuentry "Try Ubuntu" {',
  '\tlinux\t/casper/vmlinuz quiet ---',
  '\tinitrd\t/casper/initrd',
  '}',
  "menuentry 'Test memory' {",
  '\tlinux16 /boot/memtest86+x64.bin',
  '}',
].join('\n');

test('GRUB: serial lines on top, timeout replaced, first entry renamed, only live kernel lines edited', () => {
  const r = editGrubCfg(grub, { kernels, serial: true, timeoutSeconds: 5, title: 'ACME' });
  const lines = r.text.split('\n');
  assert.deepEqual(lines.slice(0, 4), [
    'serial --unit=0 --speed=115200',
    'terminal_input console serial',
    'terminal_output console serial',
    'set timeout=5',
  ]);
  assert.ok(lines.includes('menuentry "ACME" {'));
  assert.ok(lines.includes('\tlinux\t/casper/vmlinuz quiet console=tty0 console=ttyS0,115200n8 ---'));
  assert.ok(lines.includes('\tlinux16 /boot/memtest86+x64.bin'));
  assert.equal(r.edited, 1);
});

test('GRUB: nothing asked, nothing changed (byte for byte)', () => {
  assert.equal(editGrubCfg(grub, { kernels }).text, grub);
});

test('isolinux: serial first in the top file only, timeout in tenths (never 0 = forever), title, append lines of live labels', () => {
  const cfg = [
    'ui menu.c32',
    'timeout 50',
    'menu title Debian',
    'label live',
    '  kernel /live/vmlinuz',
    '  append initrd=/live/initrd.img boot=live',
    'label hdt',
    '  kernel hdt.c32',
    '  append quiet',
  ].join('\n');
  const r = editIsolinuxCfg(cfg, { kernels, serial: true, timeoutSeconds: 0, title: 'ACME', addArgs: ['x=1'] }, true);
  const lines = r.text.split('\n');
  assert.equal(lines[0], 'serial 0 115200');
  assert.ok(lines.includes('timeout 1'));
  assert.ok(lines.includes('menu title ACME'));
  assert.ok(lines.includes('  append initrd=/live/initrd.img boot=live console=tty0 console=ttyS0,115200n8 x=1'));
  assert.ok(lines.includes('  append quiet'));
  const included = editIsolinuxCfg(cfg, { kernels, serial: true }, false);
  assert.notEqual(included.text.split('\n')[0], 'serial 0 115200', 'serial only counts as the first directive of the top file');
  assert.equal(isolinuxTimeout(3), 30);
});

test("GRUB: an argument with `;` (NoCloud's ds=nocloud;s=...) is escaped for GRUB, left as is for isolinux", () => {
  const kernels = ['/casper/vmlinuz'];
  const grub = editGrubCfg('menuentry "Try" {\n\tlinux\t/casper/vmlinuz  ---\n}\n', {
    kernels,
    addArgs: ['autoinstall', 'ds=nocloud;s=/cdrom/nocloud/'],
  });
  assert.match(grub.text, /^\tlinux\t\/casper\/vmlinuz autoinstall ds=nocloud\\;s=\/cdrom\/nocloud\/ ---$/m);
  const iso = editIsolinuxCfg(
    'label live\n  kernel /casper/vmlinuz\n  append initrd=/casper/initrd ---\n',
    { kernels, addArgs: ['ds=nocloud;s=/cdrom/nocloud/'] },
    false,
  );
  assert.match(iso.text, /append initrd=\/casper\/initrd ds=nocloud;s=\/cdrom\/nocloud\/ ---$/m);
});
