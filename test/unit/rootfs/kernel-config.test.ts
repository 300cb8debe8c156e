// The squashfs compressors a base kernel config builds in, and the compressor the squashfs files we add get.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootConfigNames, chooseLayerCompression, type KernelConfig, squashfsCompressors } from '../../../src/rootfs/kernel-config.js';

/** The squashfs part of Debian bookworm's config-6.1.0-18-amd64 (everything but lzo built in). */
const DEBIAN = [
  '# Automatically generated file; DO NOT EDIT.',
  'CONFIG_SQUASHFS=m',
  '# CONFIG_SQUASHFS_FILE_CACHE is not set',
  'CONFIG_SQUASHFS_FILE_DIRECT=y',
  'CONFIG_SQUASHFS_XATTR=y',
  'CONFIG_SQUASHFS_ZLIB=y',
  'CONFIG_SQUASHFS_LZ4=y',
  '# CONFIG_SQUASHFS_LZO is not set',
  'CONFIG_SQUASHFS_XZ=y',
  'CONFIG_SQUASHFS_ZSTD=y',
  '# CONFIG_SQUASHFS_4K_DEVBLK_SIZE is not set',
  '',
].join('\n');

const config = (version: string, options: string[]): KernelConfig => ({
  path: `/boot/config-${version}`,
  text: `CONFIG_SQUASHFS=y\n${options.map((o) => `CONFIG_SQUASHFS_${o}=y`).join('\n')}\n`,
});

test('squashfsCompressors: the =y options, not the unset or module ones, and not the other SQUASHFS options', () => {
  assert.deepEqual([...squashfsCompressors(DEBIAN)].sort(), ['gzip', 'lz4', 'xz', 'zstd']);
  assert.deepEqual([...squashfsCompressors('CONFIG_SQUASHFS_XZ=y\r\nCONFIG_SQUASHFS_ZSTD=m\n')], ['xz']);
  assert.deepEqual([...squashfsCompressors('CONFIG_SQUASHFS_XZ=yes\n# CONFIG_SQUASHFS_ZSTD=y\n')], []);
  assert.deepEqual([...squashfsCompressors('')], []);
});

test('bootConfigNames: config-* directly under /boot in an unsquashfs -l listing', () => {
  const listing = [
    '',
    '/boot',
    '/boot/System.map-6.1.0-18-amd64',
    '/boot/config-6.1.0-18-amd64',
    '/boot/grub/config-x',
    '/boot/config-6.1.0-17-amd64',
  ].join('\n');
  assert.deepEqual(bootConfigNames(listing), ['config-6.1.0-18-amd64', 'config-6.1.0-17-amd64']);
  assert.deepEqual(bootConfigNames('squashfs-root/boot/config-6.1.0-18-amd64\n'), []);
});

test('choice: zstd at level 3 when the kernel mounts zstd, whatever the base has; an explicit level is kept', () => {
  const debian = { path: '/boot/config-6.1.0-18-amd64', text: DEBIAN };
  assert.deepEqual(chooseLayerCompression('xz', [debian]), {
    compression: 'zstd',
    level: 3,
    reason: 'kernel 6.1.0-18-amd64 can mount zstd squashfs',
  });
  assert.equal(chooseLayerCompression('xz', [debian], 9).level, 9);
  assert.equal(chooseLayerCompression('zstd', [debian]).compression, 'zstd');
  assert.equal(chooseLayerCompression('lz4', [debian]).compression, 'zstd');
});

test('choice: only xz built in keeps the base xz, and says the kernel mounts nothing faster', () => {
  const c = chooseLayerCompression('xz', [config('4.19.0-1-amd64', ['XZ'])]);
  assert.deepEqual(c, {
    compression: 'xz',
    level: undefined,
    reason: "kernel 4.19.0-1-amd64 can mount none of zstd, lz4, gzip, lzo squashfs: keeping the base's xz",
  });
});

test('choice: lz4 and xz built in gives lz4 (no level), over the base xz', () => {
  assert.deepEqual(chooseLayerCompression('xz', [config('5.4.0-1-generic', ['LZ4', 'XZ'])]), {
    compression: 'lz4',
    level: undefined,
    reason: 'kernel 5.4.0-1-generic cannot mount zstd squashfs: lz4 is the fastest it can',
  });
});

test('choice: gzip (level 3) before lzo, lzo only when nothing faster is built in', () => {
  const g = chooseLayerCompression('xz', [config('k', ['ZLIB', 'LZO', 'XZ'])]);
  assert.equal(g.compression, 'gzip');
  assert.equal(g.level, 3);
  assert.equal(chooseLayerCompression('xz', [config('k', ['LZO', 'XZ'])]).compression, 'lzo');
});

test('choice: no kernel config keeps the base compressor and says so', () => {
  assert.deepEqual(chooseLayerCompression('xz', []), {
    compression: 'xz',
    level: undefined,
    reason: "no /boot/config-* in the base root: keeping the base's xz",
  });
  assert.deepEqual(chooseLayerCompression('zstd', [], 5), {
    compression: 'zstd',
    level: 5,
    reason: "no /boot/config-* in the base root: keeping the base's zstd",
  });
});

test('choice: several configs must all mount it; the one lacking zstd is named', () => {
  const both = [config('6.1.0-18-amd64', ['ZSTD', 'XZ', 'LZ4']), config('5.10.0-9-amd64', ['XZ', 'LZ4'])];
  assert.deepEqual(chooseLayerCompression('xz', both), {
    compression: 'lz4',
    level: undefined,
    reason: 'kernel 5.10.0-9-amd64 cannot mount zstd squashfs: lz4 is the fastest every kernel can',
  });
  const agree = [config('6.1.0-18-amd64', ['ZSTD', 'XZ']), config('6.1.0-17-amd64', ['ZSTD', 'XZ'])];
  assert.equal(chooseLayerCompression('xz', agree).reason, 'kernels 6.1.0-18-amd64, 6.1.0-17-amd64 can mount zstd squashfs');
  const none = [config('a', ['ZSTD', 'XZ']), config('b', ['LZ4', 'XZ'])];
  assert.deepEqual(chooseLayerCompression('xz', none), {
    compression: 'xz',
    level: undefined,
    reason: "kernels a, b can mount none of zstd, lz4, gzip, lzo squashfs in common: keeping the base's xz",
  });
});
