// Each payload compression round-trips through the exact decompressor command the guest loader runs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { compressorArgv, decompressorCommand } from '../../src/images/compress.js';
import { addImage } from '../../src/images/payload.js';
import type { Compression } from '../../src/types.js';

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
