// Each payload compression round-trips through the exact decompressor command the guest loader runs; the squashfs
// layer is compressed with what the base's kernel mounts (an xz base gets a zstd layer).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { compressorArgv, decompressorCommand } from '../../src/images/compress.js';
import { addImage } from '../../src/images/payload.js';
import type { BuildReport } from '../../src/build.js';
import { inspectIso } from '../../src/iso/inspect.js';
import { chooseLayerCompression, readKernelConfigs } from '../../src/rootfs/kernel-config.js';
import { readSuperblock } from '../../src/rootfs/squashfs.js';
import type { Compression } from '../../src/types.js';
import { buildArgs } from '../helpers/build-args.js';
import { busyboxImageArg, cli, xzFixtureIso } from '../helpers/fixture.js';
import { extract, tool } from '../helpers/iso-surgery.js';

test('zstd, gzip, xz and none: archive sha256 recorded, guest decompressor restores the same tar', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-comp-'));
  const rootfs = join(dir, 'rootfs.tar');
  await writeBusyboxRootfs(rootfs);
  const tars = new Set<string>();
  const sizes: Record<string, number> = {};
  for (const kind of ['zstd', 'gzip', 'xz', 'none'] as Compression[]) {
    const out = join(dir, kind);
    spawnSync('mkdir', ['-p', out]);
    const img = await addImage(
      { kind: 'rootfs', path: rootfs, ref: 'a/b:1' },
      { dir: out, compression: { kind }, architecture: 'amd64', sourceDateEpoch: 0 },
    );
    const file = join(out, img.file);
    assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), img.sha256);
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `${decompressorCommand(kind)} < "$1"`, '_', file], {
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(r.status, 0, String(r.stderr));
    assert.equal(r.stdout.length, img.uncompressedBytes);
    tars.add(createHash('sha256').update(r.stdout).digest('hex'));
    sizes[kind] = img.bytes;
  }
  assert.equal(tars.size, 1, 'every compression restores the same docker-archive');
  assert.ok((sizes.zstd ?? 0) < (sizes.none ?? 0) && (sizes.xz ?? 0) < (sizes.none ?? 0) && (sizes.gzip ?? 0) < (sizes.none ?? 0));
  assert.deepEqual(compressorArgv({ kind: 'zstd', level: 19, longWindowLog: 27 }), ['zstd', ['-q', '-c', '-19', '-T0', '--long=27']]);
  assert.equal(compressorArgv({ kind: 'none' }), undefined);
});

test('kernel configs of a squashfs stack: every /boot/config-* the stacked root shows, the top copy, no whited-out one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-kconf-'));
  const lower = join(dir, 'lower');
  const upper = join(dir, 'upper');
  mkdirSync(join(lower, 'boot', 'grub'), { recursive: true });
  mkdirSync(join(upper, 'boot'), { recursive: true });
  writeFileSync(join(lower, 'boot', 'config-6.1.0-17-amd64'), 'CONFIG_SQUASHFS_XZ=y\n');
  writeFileSync(join(lower, 'boot', 'config-6.1.0-18-amd64'), 'CONFIG_SQUASHFS_XZ=y\n');
  writeFileSync(join(lower, 'boot', 'grub', 'config-not-a-kernel'), 'CONFIG_SQUASHFS_LZO=y\n');
  writeFileSync(join(upper, 'boot', 'config-6.1.0-18-amd64'), 'CONFIG_SQUASHFS_XZ=y\nCONFIG_SQUASHFS_ZSTD=y\n');
  // An overlayfs whiteout, as a layer that removed the old kernel holds it.
  tool('mknod', [join(upper, 'boot', 'config-6.1.0-17-amd64'), 'c', '0', '0']);
  // Both layers in one file, as in an ISO: the upper one at a sector boundary after the lower one.
  const image = join(dir, 'stack.img');
  tool('mksquashfs', [lower, join(dir, 'lower.sqfs'), '-comp', 'xz', '-noappend', '-no-progress', '-quiet']);
  tool('mksquashfs', [upper, join(dir, 'upper.sqfs'), '-comp', 'xz', '-noappend', '-no-progress', '-quiet']);
  const lowerBytes = statSync(join(dir, 'lower.sqfs')).size;
  const offset = Math.ceil(lowerBytes / 2048) * 2048;
  tool('sh', [
    '-c',
    `cat "$1" > "$3" && truncate -s ${offset} "$3" && cat "$2" >> "$3"`,
    'sh',
    join(dir, 'lower.sqfs'),
    join(dir, 'upper.sqfs'),
    image,
  ]);
  const configs = await readKernelConfigs(image, [{ offset: 0 }, { offset }]);
  assert.deepEqual(
    configs.map((c) => c.path),
    ['/boot/config-6.1.0-18-amd64'],
  );
  assert.equal(chooseLayerCompression('xz', configs).reason, 'kernel 6.1.0-18-amd64 can mount zstd squashfs');
});

test(
  'an xz base gets a zstd layer (level 3): its kernel mounts zstd; the build output and the report say why',
  { timeout: 60 * 60 * 1000 },
  async () => {
    const base = await xzFixtureIso();
    const info = await inspectIso(base);
    const root = info.rootfs.at(-1);
    assert.equal(root?.compression, 'xz', 'the base is an xz base');
    const dir = mkdtempSync(join(tmpdir(), 'remaster-xzbase-'));
    const out = join(dir, 'out.iso');
    const log = join(dir, 'build.log');
    const r = cli([...buildArgs({ iso: base, out, images: [await busyboxImageArg()] }), '--json', '-q', '--log-file', log]);
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    const report = JSON.parse(r.stdout) as BuildReport;
    assert.equal(report.layer?.compression, 'zstd');
    assert.equal(report.layer?.level, 3);
    assert.match(report.layer?.compressionReason ?? '', /^kernel \d[\w.-]*-amd64 can mount zstd squashfs$/);
    assert.match(readFileSync(log, 'utf8'), /Write the new layer \(squashfs, zstd level 3, 1024 KiB blocks\)/);
    assert.match(readFileSync(log, 'utf8'), /zstd level 3 \(kernel \S+ can mount zstd squashfs\)/);
    // The ISO holds what the report says: the new layer is zstd with the base's block size; the base's root is untouched.
    const layer = join(dir, 'remaster.squashfs');
    extract(out, '/live/remaster.squashfs', layer);
    const sb = await readSuperblock(layer);
    assert.equal(sb?.compression, 'zstd');
    assert.equal(sb?.blockSize, root?.blockSize);
    const after = await inspectIso(out);
    assert.deepEqual(
      after.rootfs.map((l) => [l.path, l.compression]),
      [
        ['/live/filesystem.squashfs', 'xz'],
        ['/live/remaster.squashfs', 'zstd'],
      ],
    );
  },
);
