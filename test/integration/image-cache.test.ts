// The image archive cache trusts an untouched entry without reading it, and rebuilds one whose archive changed.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, openSync, readdirSync, writeSync, closeSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { addImageCached } from '../../src/images/cache.js';
import { sha256File } from '../../src/util/hash.js';

test('cache hit without re-reading; an archive edited after its entry is hashed, found changed and rebuilt', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-imgcache-'));
  const tar = join(dir, 'rootfs.tar');
  await writeBusyboxRootfs(tar);
  const cache = join(dir, 'cache');
  const payload = (n: number) => {
    const d = join(dir, `payload-${n}`);
    mkdirSync(d);
    return { dir: d, compression: { kind: 'zstd' as const, level: 3 }, architecture: 'amd64', sourceDateEpoch: 0 };
  };
  const spec = { kind: 'rootfs' as const, path: tar, ref: 'demo/app:1' };
  const first = await addImageCached(spec, payload(1), cache, true);
  assert.equal(first.cached, false);
  const second = await addImageCached(spec, payload(2), cache, true);
  assert.equal(second.cached, true);
  assert.equal(second.image.sha256, first.image.sha256);

  const [key] = readdirSync(join(cache, 'images')).filter((n) => /^[0-9a-f]{32}$/.test(n));
  assert.ok(key);
  const archive = join(cache, 'images', key, first.image.file);
  // Damage one byte in place (same size), later than the entry was written.
  const fd = openSync(archive, 'r+');
  writeSync(fd, Buffer.from([0x00]), 0, 1, 100);
  closeSync(fd);
  const later = new Date(Date.now() + 5000);
  utimesSync(archive, later, later);
  const third = await addImageCached(spec, payload(3), cache, true);
  assert.equal(third.cached, false, 'the changed archive is not shipped: it is made again');
  assert.equal(await sha256File(join(dir, 'payload-3', third.image.file)), first.image.sha256);
});
