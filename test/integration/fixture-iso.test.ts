// The Debian live fixture ISO has Debian's live ISO shape: El Torito BIOS + UEFI images, isohybrid MBR + GPT,
// live-boot files under /live. Builds the fixture once (root, ~3 min) into the shared cache; reuses it afterwards.
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { defaultCacheDir } from '../../src/config/paths.js';
import { run } from '../../src/exec/run.js';
import { debianLiveRecipe, ensureDebianLiveIso, recipeKey } from '../../src/fixture/debian-live.js';

const cacheDir = defaultCacheDir();
let iso = '';

before(
  async () => {
    const r = await ensureDebianLiveIso({
      cacheDir,
      onLine: process.env.REMASTER_TEST_VERBOSE ? (l) => console.error(l) : undefined,
    });
    iso = r.path;
  },
  { timeout: 60 * 60_000 },
);

async function xorriso(...args: string[]): Promise<string> {
  const r = await run('xorriso', ['-indev', iso, ...args]);
  return `${r.stdout}${r.stderr}`;
}

test('the cached fixture is named by its recipe key and is reused', async () => {
  const key = recipeKey(debianLiveRecipe);
  assert.match(key, /^[0-9a-f]{16}$/);
  assert.equal(iso, join(cacheDir, 'base-iso', `debian-live-${key}.iso`));
  const again = await ensureDebianLiveIso({ cacheDir });
  assert.deepEqual(again, { path: iso, key, built: false });
  assert.notEqual(recipeKey({ ...debianLiveRecipe, kernelArgs: 'console=ttyS0' }), key);
});

test('El Torito catalog has a BIOS and a UEFI no-emulation boot image', async () => {
  const out = await xorriso('-report_el_torito', 'plain');
  // El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4          34
  const imgs = [...out.matchAll(/^El Torito boot img :\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)/gm)].map((m) => ({
    platform: m[2],
    bootable: m[3],
    emulation: m[4],
  }));
  assert.deepEqual(imgs, [
    { platform: 'BIOS', bootable: 'y', emulation: 'none' },
    { platform: 'UEFI', bootable: 'y', emulation: 'none' },
  ]);
  const cmd = await xorriso('-report_el_torito', 'cmd');
  assert.match(cmd, /^-boot_image any platform_id=0x00$/m);
  assert.match(cmd, /^-boot_image any platform_id=0xef$/m);
  assert.match(cmd, /^-boot_image isolinux partition_entry=gpt_basdat$/m);
});

test('system area is an isohybrid MBR with a partition, followed by a GPT', async () => {
  const fh = await open(iso, 'r');
  const head = Buffer.alloc(1024);
  try {
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  assert.equal(head[510], 0x55);
  assert.equal(head[511], 0xaa);
  const types = [0, 1, 2, 3].map((i) => head[446 + i * 16 + 4]);
  assert.ok(
    types.some((t) => t !== 0),
    `no MBR partition entry: types ${types.join(',')}`,
  );
  assert.equal(head.subarray(512, 520).toString('latin1'), 'EFI PART');
  const sys = await xorriso('-report_system_area', 'plain');
  assert.match(sys, /^System area summary: MBR isohybrid .*GPT$/m);
});

test('live-boot files and Debian checksum lists are on the medium', async () => {
  const out = await xorriso('-find', '/', '-type', 'f');
  const files = new Set(out.split('\n').flatMap((l) => /^'(.*)'$/.exec(l.trim())?.[1] ?? []));
  for (const f of [
    '/live/filesystem.squashfs',
    '/live/vmlinuz',
    '/live/initrd.img',
    '/isolinux/isolinux.bin',
    '/isolinux/isolinux.cfg',
    '/boot/grub/grub.cfg',
    '/boot/grub/efi.img',
    '/EFI/boot/bootx64.efi',
    '/.disk/info',
    '/md5sum.txt',
    '/sha256sum.txt',
  ]) {
    assert.ok(files.has(f), `${f} missing from the ISO`);
  }

  const dir = await mkdtemp(join(tmpdir(), 'fixture-iso-'));
  try {
    await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/md5sum.txt', join(dir, 'md5sum.txt')]);
    const lines = (await readFile(join(dir, 'md5sum.txt'), 'utf8')).trimEnd().split('\n');
    for (const l of lines) assert.match(l, /^[0-9a-f]{32} {2}\.\/\S+$/);
    const listed = lines.map((l) => l.slice(34));
    assert.ok(listed.includes('./live/filesystem.squashfs'));
    assert.ok(!listed.includes('./md5sum.txt') && !listed.includes('./isolinux/boot.cat'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
