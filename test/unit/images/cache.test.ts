// What the image archive cache is keyed by: source content, naming, compression; not the source's path.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { imageCacheKey, rememberedDigest } from '../../../src/images/cache.js';
import type { PayloadOptions } from '../../../src/images/payload.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-cachekey-'));
const a = join(dir, 'a.tar');
const b = join(dir, 'b.tar');
const c = join(dir, 'c.tar');
writeFileSync(a, 'same bytes');
writeFileSync(b, 'same bytes');
writeFileSync(c, 'other bytes');
const o: PayloadOptions = { dir, compression: { kind: 'zstd' }, architecture: 'amd64', sourceDateEpoch: 1 };

test('same content under another path: same key; other content, name or compression: another key', async () => {
  const rootfs = (path: string, ref = 'app:1') => ({ kind: 'rootfs' as const, path, ref });
  const k = await imageCacheKey(rootfs(a), o, false);
  assert.match(k ?? '', /^[0-9a-f]{32}$/);
  assert.equal(await imageCacheKey(rootfs(b), o, false), k);
  assert.notEqual(await imageCacheKey(rootfs(c), o, false), k);
  assert.notEqual(await imageCacheKey(rootfs(a, 'app:2'), o, false), k);
  assert.notEqual(await imageCacheKey(rootfs(a), { ...o, compression: { kind: 'zstd', level: 3 } }, false), k);
  assert.notEqual(await imageCacheKey(rootfs(a), { ...o, compression: { kind: 'gzip' } }, false), k);
  assert.notEqual(await imageCacheKey(rootfs(a), { ...o, architecture: 'arm64' }, false), k);
});

test('the created date is part of the key only when SOURCE_DATE_EPOCH fixes it', async () => {
  const spec = { kind: 'rootfs' as const, path: a, ref: 'app:1' };
  assert.equal(await imageCacheKey(spec, { ...o, sourceDateEpoch: 2 }, false), await imageCacheKey(spec, o, false));
  assert.notEqual(await imageCacheKey(spec, { ...o, sourceDateEpoch: 2 }, true), await imageCacheKey(spec, o, true));
});

test('sources without a stable identity are not cached', async () => {
  assert.equal(await imageCacheKey({ kind: 'skopeo', transport: 'oci', source: `oci:${dir}`, ref: 'app:1' }, o, false), undefined);
  assert.equal(await imageCacheKey({ kind: 'skopeo', transport: 'docker-daemon', source: 'docker-daemon:app:1' }, o, false), undefined);
});

test("a source's sha256 is remembered by the file's identity; an edited file is read again", async () => {
  const cache = mkdtempSync(join(tmpdir(), 'remaster-digests-'));
  const f = join(dir, 'remembered.tar');
  const sha = (t: string) => createHash('sha256').update(t).digest('hex');
  writeFileSync(f, 'first');
  assert.equal(await rememberedDigest(cache, f), sha('first'));
  assert.equal(readdirSync(join(cache, 'images', 'digests')).length, 1);
  assert.equal(await rememberedDigest(cache, f), sha('first'));
  assert.equal(readdirSync(join(cache, 'images', 'digests')).length, 1, 'the second call used the memo');
  writeFileSync(f, 'other'); // same size: the change time (and usually mtime) tells
  assert.equal(await rememberedDigest(cache, f), sha('other'));
  assert.equal(readdirSync(join(cache, 'images', 'digests')).length, 2);
});
