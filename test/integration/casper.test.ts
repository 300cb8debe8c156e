// Ubuntu-shaped (casper) bases, single and layered, built from the Debian fixture: inspect, layer mode with the
// chain extended and every menu entry pointed at it, metadata, boot setup replayed, rebuild mode, refusals.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readInitrd } from '../../src/iso/initrd.js';
import { inspectIso, type InspectResult } from '../../src/iso/inspect.js';
import { readTemplate } from '../../src/units/render.js';
import { xorrisoReport } from '../../src/iso/xorriso.js';
import { busyboxImageArg, casperIso, cli, mountsBelow } from '../helpers/fixture.js';
import { extract, tool } from '../helpers/iso-surgery.js';
import { buildArgs } from '../helpers/build-args.js';
import { comparableSummaries } from '../helpers/boot-shape.js';

const T = { timeout: 30 * 60 * 1000 };
/** remaster build of base into out: podman, the busybox image, no verification, plus extra flags. */
async function build(base: string, out: string, ...extra: string[]) {
  return cli(buildArgs({ iso: base, out, engine: 'podman', images: [await busyboxImageArg()], more: extra }));
}

const ESP = '28732ac11ff8d211ba4b00a0c93ec93b';
const md5 = (file: string) => createHash('md5').update(readFileSync(file)).digest('hex');
const sha = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');

function readIso(iso: string, isoPath: string, dir: string): string {
  const to = join(dir, `x-${isoPath.replaceAll('/', '_')}`);
  extract(iso, isoPath, to);
  return to;
}

function bytesAt(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** Boot shape: El Torito entries, system area, GPT partitions, and the bytes of the hidden EFI image. */
/** The boot setup of out equals base's: El Torito entries, system area, partitions, the EFI image's bytes. */
async function assertSameBoot(out: string, base: string) {
  const [a, b] = [await xorrisoReport(out), await xorrisoReport(base)];
  const [sa, sb] = comparableSummaries(a.systemArea, b.systemArea);
  assert.deepEqual({ ...bootShape(out, a), summary: sa }, { ...bootShape(base, b), summary: sb });
}

function bootShape(iso: string, r: Awaited<ReturnType<typeof xorrisoReport>>) {
  const efi = r.elTorito.images.find((i) => i.platform === 'UEFI');
  return {
    elTorito: r.elTorito.images.map((i) => ({ platform: i.platform, path: i.path, options: i.options, loadSize: i.loadSize })),
    // The ISO's own partition grows with the content; the EFI partition must not change.
    gpt: (r.systemArea.gptPartitions ?? []).map((p) => ({ type: p.type, path: p.path, blocks: p.type === ESP ? p.blocks : 'any' })),
    efiImage: efi ? sha(bytesAt(iso, efi.lba * 2048, efi.loadSize * 512)) : undefined,
  };
}

test(
  'inspect: layered casper (24.04 shape): chain from the initrd, install sources, GRUB-only BIOS, appended EFI partition',
  T,
  async () => {
    const r = await inspectIso(await casperIso('layered'));
    assert.equal(r.flavor, 'ubuntu-casper');
    assert.deepEqual(
      r.rootfs.map((l) => l.path),
      ['/casper/minimal.squashfs', '/casper/minimal.standard.squashfs', '/casper/minimal.standard.live.squashfs'],
    );
    assert.equal(r.casper?.layered, true);
    assert.equal(r.casper?.initrdLayerfsPath, 'minimal.standard.live.squashfs');
    assert.deepEqual(
      r.casper?.installSources.map((s) => [s.id, s.path, s.default, s.variations.map((v) => v.path)]),
      [
        ['ubuntu-desktop-minimal', 'minimal.squashfs', true, ['minimal.squashfs', 'minimal.enhanced-secureboot.squashfs']],
        [
          'ubuntu-desktop',
          'minimal.standard.squashfs',
          false,
          ['minimal.standard.squashfs', 'minimal.standard.enhanced-secureboot.squashfs'],
        ],
      ],
    );
    assert.deepEqual(
      r.initrd?.parts.map((p) => p.compression),
      ['none', 'zstd'],
    );
    assert.equal(r.initrd?.bootScripts, 'casper');
    assert.deepEqual([r.boot.bios, r.boot.uefi, r.boot.gpt, r.boot.appendedEfiPartition], [true, true, true, true]);
    assert.equal(r.boot.elTorito[0]?.path, '/boot/grub/i386-pc/eltorito.img');
    assert.equal(r.boot.elTorito[1]?.path, undefined, 'the UEFI image is the appended partition, not a file');
    const text = cli(['inspect', r.iso]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /casper: layered, live chain top minimal\.standard\.live\.squashfs/);
    assert.match(text.stdout, /initrd \/casper\/initrd: none \(\d+ entries\) \+ zstd/);
  },
);

test('inspect: single casper (20.04/22.04 desktop shape): every /casper/*.squashfs, lz4 initrd', T, async () => {
  const r = await inspectIso(await casperIso('single'));
  assert.equal(r.flavor, 'ubuntu-casper');
  assert.equal(r.casper?.layered, false);
  assert.deepEqual(
    r.rootfs.map((l) => l.path),
    ['/casper/filesystem.squashfs'],
  );
  assert.deepEqual(
    r.initrd?.parts.map((p) => p.compression),
    ['none', 'lz4'],
  );
  assert.equal(r.boot.appendedEfiPartition, true);
});

test('layer mode on layered casper: the chain is extended, every menu entry boots it, metadata and boot setup kept', T, async () => {
  const base = await casperIso('layered');
  const dir = mkdtempSync(join(tmpdir(), 'remaster-casper-'));
  const out = join(dir, 'layered.iso');
  const r = await build(
    base,
    out,
    '--target',
    'live',
    '--serial-console',
    '--kernel-arg',
    'remaster.test=1',
    '--menu-timeout',
    '7',
    '--menu-title',
    'ACME appliance',
    '--disk-info',
    'ACME appliance 1.0 (amd64)',
    '--json',
  );
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { mode: string; layer: { isoPath: string } };
  assert.equal(report.mode, 'layer');
  assert.equal(report.layer.isoPath, '/casper/minimal.standard.live.remaster.squashfs');

  const after: InspectResult = await inspectIso(out);
  assert.deepEqual(
    after.rootfs.map((l) => l.path),
    [
      '/casper/minimal.squashfs',
      '/casper/minimal.standard.squashfs',
      '/casper/minimal.standard.live.squashfs',
      '/casper/minimal.standard.live.remaster.squashfs',
    ],
    'casper walks the new name down to the base chain',
  );
  assert.equal(after.casper?.layerfsSource, 'menu');
  await assertSameBoot(out, base);

  const grub = readFileSync(readIso(out, '/boot/grub/grub.cfg', dir), 'utf8');
  const linux = grub.split('\n').filter((l) => /^\s*linux\s/.test(l));
  assert.equal(linux.length, 2);
  for (const l of linux) {
    assert.match(l, / layerfs-path=minimal\.standard\.live\.remaster\.squashfs /);
    assert.match(l, /console=ttyS0,115200n8 remaster\.test=1 ---$/, 'our arguments go before ---');
    assert.doesNotMatch(l, /layerfs-path=minimal\.standard\.live\.squashfs/);
  }
  assert.match(grub, /^serial --unit=0 --speed=115200\nterminal_input console serial\nterminal_output console serial\n/);
  assert.match(grub, /^set timeout=7$/m);
  assert.match(grub, /^menuentry "ACME appliance" \{$/m);
  assert.match(
    readFileSync(readIso(out, '/boot/grub/loopback.cfg', dir), 'utf8'),
    /layerfs-path=minimal\.standard\.live\.remaster\.squashfs/,
  );
  assert.equal(readFileSync(readIso(out, '/.disk/info', dir), 'utf8'), 'ACME appliance 1.0 (amd64)');

  // Per-layer metadata beside the new layer, as livecd-rootfs writes it for each pass (cumulative).
  const size = Number(readFileSync(readIso(out, '/casper/minimal.standard.live.remaster.size', dir), 'utf8'));
  const baseSize = Number(readFileSync(readIso(base, '/casper/minimal.size', dir), 'utf8'));
  assert.ok(size > baseSize + 10 * 2 ** 20, `size ${size} should exceed the base's ${baseSize} by podman's size`);
  const manifest = readFileSync(readIso(out, '/casper/minimal.standard.live.remaster.manifest', dir), 'utf8');
  assert.match(manifest, /^podman\t\S+$/m);
  assert.match(manifest, /^systemd\t\S+$/m);

  // md5sum.txt: every entry matches the file in the new ISO (changed and new files included).
  const sums = readFileSync(readIso(out, '/md5sum.txt', dir), 'utf8')
    .trim()
    .split('\n');
  for (const rel of [
    './boot/grub/grub.cfg',
    './.disk/info',
    './casper/minimal.standard.live.remaster.squashfs',
    './casper/minimal.standard.live.remaster.size',
  ]) {
    const line = sums.find((l) => l.endsWith(`  ${rel}`));
    assert.ok(line, `md5sum.txt lists ${rel}`);
    assert.equal(line.slice(0, 32), md5(readIso(out, rel.slice(1), dir)), rel);
  }
  // The base's layers are copied, not rewritten.
  for (const p of ['/casper/minimal.squashfs', '/casper/minimal.standard.live.squashfs'])
    assert.equal(md5(readIso(out, p, dir)), md5(readIso(base, p, dir)), p);
  // --target live: install-sources.yaml is left as it was (ubuntu-installers.test.ts covers the installed target).
  assert.equal(md5(readIso(out, '/casper/install-sources.yaml', dir)), md5(readIso(base, '/casper/install-sources.yaml', dir)));
  assert.deepEqual(mountsBelow(dir), []);
});

test('layer mode on single casper: a sorted-last layer, filesystem.size/.manifest updated, menus untouched', T, async () => {
  const base = await casperIso('single');
  const dir = mkdtempSync(join(tmpdir(), 'remaster-casper1-'));
  const out = join(dir, 'single.iso');
  const r = await build(base, out, '--json');
  assert.equal(r.status, 0, r.stderr);
  const after = await inspectIso(out);
  assert.deepEqual(
    after.rootfs.map((l) => l.path),
    ['/casper/filesystem.squashfs', '/casper/remaster.squashfs'],
  );
  for (const p of ['/boot/grub/grub.cfg', '/boot/grub/loopback.cfg', '/casper/initrd'])
    assert.equal(md5(readIso(out, p, dir)), md5(readIso(base, p, dir)), p);
  assert.match(readFileSync(readIso(out, '/casper/filesystem.manifest', dir), 'utf8'), /^podman\t/m);
  assert.ok(
    Number(readFileSync(readIso(out, '/casper/filesystem.size', dir), 'utf8')) >
      Number(readFileSync(readIso(base, '/casper/filesystem.size', dir), 'utf8')),
  );
  await assertSameBoot(out, base);
});

test('rebuild mode on single casper: filesystem.squashfs rewritten with the base compression and block size', T, async () => {
  const base = await casperIso('single');
  const dir = mkdtempSync(join(tmpdir(), 'remaster-casper-rb-'));
  const out = join(dir, 'rebuilt.iso');
  const r = await build(base, out, '--rootfs-mode', 'rebuild', '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { mode: string }).mode, 'rebuild');
  const [b, a] = [await inspectIso(base), await inspectIso(out)];
  assert.deepEqual(
    a.rootfs.map((l) => [l.path, l.compression, l.blockSize]),
    b.rootfs.map((l) => [l.path, l.compression, l.blockSize]),
  );
  assert.ok((a.rootfs[0]?.bytes ?? 0) > (b.rootfs[0]?.bytes ?? 0));
  const listing = tool('unsquashfs', ['-l', '-n', readIso(out, '/casper/filesystem.squashfs', dir)]);
  assert.match(listing, /squashfs-root\/usr\/bin\/podman\n/);
  assert.match(listing, /squashfs-root\/var\/lib\/remaster\/images\.json\n/);
  assert.match(readFileSync(readIso(out, '/casper/filesystem.manifest', dir), 'utf8'), /^podman\t/m);
  await assertSameBoot(out, base);
});

test('refused before any work: a layered casper ISO missing a layer of its chain, a /casper root booted by live-boot', T, async () => {
  const base = await casperIso('layered');
  const dir = mkdtempSync(join(tmpdir(), 'remaster-casper-bad-'));
  const missing = join(dir, 'missing-layer.iso');
  tool('xorriso', ['-indev', base, '-outdev', missing, '-rm', '/casper/minimal.standard.squashfs', '--', '-boot_image', 'any', 'replay']);
  let r = cli(['inspect', missing]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /unknown layout: casper's layer path minimal\.standard\.live\.squashfs .* needs \/casper\/minimal\.standard\.squashfs/,
  );
  assert.match(r.stderr, /hint: /);

  // The Debian fixture's live-boot initrd in place of casper's.
  const liveInitrd = join(dir, 'initrd.img');
  const { fixtureIso } = await import('../helpers/fixture.js');
  extract(await fixtureIso(), '/live/initrd.img', liveInitrd);
  const wrong = join(dir, 'wrong-initrd.iso');
  tool('xorriso', ['-indev', base, '-outdev', wrong, '-map', liveInitrd, '/casper/initrd', '-boot_image', 'any', 'replay']);
  const out = join(dir, 'never.iso');
  r = await build(wrong, out);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /unknown layout: root filesystem under \/casper but the initrd \/casper\/initrd has live-boot scripts/);
  assert.equal(tool('sh', ['-c', `ls -A ${dir}`]).includes('never.iso'), false);
});

test("the fixture's initrd is Debian's (modules for its kernel) with casper's scripts in place of live-boot's", T, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-casper-initrd-'));
  for (const shape of ['layered', 'single'] as const) {
    const initrd = readIso(await casperIso(shape), '/casper/initrd', dir);
    const r = await readInitrd(initrd, 0, statSync(initrd).size, (n) => n.startsWith('conf/conf.d/') || n === 'scripts/casper');
    assert.deepEqual(
      r.parts.map((p) => p.compression),
      ['none', shape === 'single' ? 'lz4' : 'zstd'],
    );
    assert.ok(r.names.has('init'), 'initramfs-tools /init');
    assert.ok(
      [...r.names].some((n) => /^usr\/lib\/modules\/[^/]+\/kernel\/fs\/squashfs\/squashfs\.ko/.test(n)),
      'the kernel modules a live root needs',
    );
    for (const n of r.names) assert.doesNotMatch(n, /^(scripts\/live|usr\/lib\/live\/|etc\/live\/|usr\/bin\/live-boot$)/, `${shape}: ${n}`);
    assert.equal(r.files.get('scripts/casper'), readTemplate('casper-initrd.sh'));
    assert.equal(r.files.get('conf/conf.d/default-boot-to-casper.conf'), 'export BOOT=casper\n');
    assert.equal(
      r.files.get('conf/conf.d/default-layer.conf'),
      shape === 'layered' ? 'LAYERFS_PATH=minimal.standard.live.squashfs\n' : undefined,
    );
  }
});
