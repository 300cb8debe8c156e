import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Readable } from 'node:stream';
import cpioStream from 'cpio-stream';
import { newcArchive } from '../../../src/installer/cpio.js';
import { compressionOf, layerChain, parseDefaultLayer, readInitrd, splitArchives } from '../../../src/iso/initrd.js';

test('casper layer chain: strip one dotted component at a time, bottom first', () => {
  assert.deepEqual(layerChain('minimal.standard.live.squashfs'), [
    'minimal.squashfs',
    'minimal.standard.squashfs',
    'minimal.standard.live.squashfs',
  ]);
  assert.deepEqual(layerChain('/cdrom/casper/filesystem.squashfs'), ['filesystem.squashfs']);
});

test('default-layer.conf: plain, quoted and exported assignments', () => {
  assert.equal(parseDefaultLayer('LAYERFS_PATH=a.b.squashfs\n'), 'a.b.squashfs');
  assert.equal(parseDefaultLayer('# c\nexport LAYERFS_PATH="a.squashfs"\n'), 'a.squashfs');
  assert.equal(parseDefaultLayer('OTHER=1\n'), undefined);
});

test('magic numbers of cpio and each compression', () => {
  assert.equal(compressionOf(Buffer.from('070701')), 'cpio');
  assert.equal(compressionOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0])), 'zstd');
  assert.equal(compressionOf(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0])), 'gzip');
  assert.equal(compressionOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0])), 'xz');
  assert.equal(compressionOf(Buffer.from([0x02, 0x21, 0x4c, 0x18, 0, 0])), 'lz4');
  assert.equal(compressionOf(Buffer.from('hello!')), undefined);
});

/** A newc archive of files (made by the real cpio tool). */
function cpio(dir: string, files: Record<string, string>): Buffer {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return execFileSync('sh', ['-c', 'find . -mindepth 1 | sort | cpio --quiet -o -H newc'], { cwd: dir });
}

for (const [kind, argv] of [
  ['gzip', ['gzip', '-c']],
  ['xz', ['xz', '--check=crc32', '-c']],
  ['zstd', ['zstd', '-q', '-c']],
  ['lz4', ['lz4', '-l', '-q', '-c']],
] as const) {
  test(`an early cpio, zero padding, then a ${kind} main archive: all names listed, wanted files read`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'remaster-initrd-'));
    const early = cpio(join(root, 'e'), { 'kernel/x86/microcode/GenuineIntel.bin': 'x'.repeat(1000) });
    const main = cpio(join(root, 'm'), {
      'conf/conf.d/default-layer.conf': 'LAYERFS_PATH=a.b.squashfs\n',
      'scripts/casper': '#!/bin/sh\n',
    });
    const packed = execFileSync(argv[0], argv.slice(1), { input: main });
    const pad = Buffer.alloc(512 - (early.length % 512));
    const file = join(root, 'initrd');
    writeFileSync(file, Buffer.concat([Buffer.alloc(100, 7), early, pad, packed, Buffer.alloc(8)]));
    const r = await readInitrd(file, 100, statSync(file).size - 100, (n) => n.endsWith('.conf'));
    assert.deepEqual(
      r.parts.map((p) => p.compression),
      ['none', kind],
    );
    assert.ok(r.names.has('kernel/x86/microcode/GenuineIntel.bin'));
    assert.ok(r.names.has('scripts/casper'));
    assert.equal(r.files.get('conf/conf.d/default-layer.conf'), 'LAYERFS_PATH=a.b.squashfs\n');
    assert.equal(r.files.has('scripts/casper'), false);
    assert.ok(readFileSync(file).length > 0);
  });
}

test('bytes that are neither cpio nor a known compression are refused', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'remaster-initrd-')), 'junk');
  writeFileSync(file, 'this is no initrd at all');
  await assert.rejects(
    readInitrd(file, 0, 24, () => false),
    /unknown data at offset 0/,
  );
});

test('archives one after another in a decompressed stream (a segment appended to an initrd.gz) are all read', async () => {
  const a = newcArchive([{ path: 'scripts/live', mode: 0o644, content: 'x'.repeat(5000) }], 0);
  const b = newcArchive([{ path: 'usr/lib/live-installer.d/remaster', mode: 0o755, content: '#!/bin/sh\n' }], 0);
  const stream = Buffer.concat([a, Buffer.alloc(1024), b]);
  const names: string[] = [];
  // Chunks that cut headers and file data in two.
  const chunks = [stream.subarray(0, 57), stream.subarray(57, 700), stream.subarray(700, 5300), stream.subarray(5300)];
  const archives = await splitArchives(Readable.from(chunks), () => {
    const e = cpioStream.extract();
    e.on('entry', (h: { name: string }, s: NodeJS.ReadableStream, next: () => void) => {
      names.push(h.name);
      s.on('end', next);
      s.resume();
    });
    return e;
  });
  assert.equal(archives, 2);
  assert.deepEqual(names, ['scripts', 'scripts/live', 'usr', 'usr/lib', 'usr/lib/live-installer.d', 'usr/lib/live-installer.d/remaster']);
});

test('a chunk that ends exactly at a record, or inside the next magic, is not mistaken for a bad header', async () => {
  const a = newcArchive(
    [
      { path: 'scripts/casper', mode: 0o755, content: 'x'.repeat(4096) },
      { path: 'conf/initramfs.conf', mode: 0o644, content: 'COMPRESS=lz4\n' },
    ],
    0,
  );
  const second = a.indexOf('070701', 6);
  assert.ok(second > 0);
  // Every cut point from just before the second record's magic to just after it.
  for (let cut = second - 2; cut <= second + 7; cut++) {
    const names: string[] = [];
    await splitArchives(Readable.from([a.subarray(0, cut), a.subarray(cut)]), () => {
      const e = cpioStream.extract();
      e.on('entry', (h: { name: string }, s: NodeJS.ReadableStream, next: () => void) => {
        names.push(h.name);
        s.on('end', next);
        s.resume();
      });
      return e;
    });
    assert.ok(names.includes('conf/initramfs.conf'), `cut at ${cut}: ${names.join(', ')}`);
  }
});
