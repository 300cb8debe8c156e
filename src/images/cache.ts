// Shared cache of compressed image archives: a source (by content or registry digest) compressed once with
// given settings is reused by every later build, whatever its output or work directory.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CompressionSettings } from './compress.js';
import type { PayloadImage } from './manifest.js';
import { cacheLockFile, withLock } from '../util/lock.js';
import { addImage, type PayloadOptions, servedDigest, skopeoRef } from './payload.js';
import type { ImageSpec } from '../types.js';
import { fileIdentity, linkOrCopy } from '../util/fs.js';
import { sha256File } from '../util/hash.js';

/** Bump when the archive an entry holds would differ for the same inputs (format changes). */
const CACHE_VERSION = 1;

export interface CachedImage {
  image: PayloadImage;
  /** true: the archive came from the cache; false: compressed now (and stored); undefined: not cacheable. */
  cached: boolean | undefined;
}

/**
 * The identity of what addImage() would write: source content (file sha256 or registry digest), naming and
 * image config, compression settings. Undefined for sources without a stable identity (OCI layout folders,
 * a docker daemon, a registry that gives no digest): those are never cached.
 */
export async function imageCacheKey(
  spec: ImageSpec,
  o: PayloadOptions,
  explicitEpoch: boolean,
  digestOf: (path: string) => Promise<string> = sha256File,
): Promise<string | undefined> {
  let identity: Record<string, unknown>;
  if (spec.kind === 'docker-archive') {
    identity = { kind: spec.kind, digest: await digestOf(spec.path), ref: spec.ref };
  } else if (spec.kind === 'rootfs') {
    identity = {
      kind: spec.kind,
      digest: await digestOf(spec.path),
      ref: spec.ref,
      cmd: spec.cmd,
      entrypoint: spec.entrypoint,
      env: spec.env,
      architecture: o.architecture,
      // The image's created date: only part of the identity when fixed (SOURCE_DATE_EPOCH); otherwise an archive
      // made earlier keeps its date, as a pulled image would.
      created: explicitEpoch ? o.sourceDateEpoch : undefined,
    };
  } else if (spec.transport === 'docker') {
    const digest = await servedDigest(spec, o);
    if (!digest) return undefined;
    identity = { kind: spec.transport, digest, ref: skopeoRef(spec), architecture: o.architecture };
  } else {
    return undefined;
  }
  const c: CompressionSettings = o.compression;
  const json = JSON.stringify({
    v: CACHE_VERSION,
    identity,
    compression: { kind: c.kind, level: c.level, longWindowLog: c.longWindowLog, threads: c.threads },
  });
  return createHash('sha256').update(json).digest('hex').slice(0, 32);
}

/**
 * addImage() through the cache at cacheDir/images/<key>/: a hit (archive present, same size and sha256 as
 * recorded) is hard-linked (or copied) into o.dir; a miss is compressed into the cache first, then linked.
 */
export async function addImageCached(spec: ImageSpec, o: PayloadOptions, cacheDir: string, explicitEpoch: boolean): Promise<CachedImage> {
  const key = await imageCacheKey(spec, o, explicitEpoch, (path) => rememberedDigest(cacheDir, path));
  if (!key) return { image: await addImage(spec, o), cached: undefined };
  // Another build compressing the same source is waited for: its archive is then a hit here.
  const lock = { what: `the cached image archive ${key.slice(0, 12)}`, signal: o.signal, onWait: o.onProgress };
  return withLock(cacheLockFile(cacheDir, `image-${key}`), lock, () => addToCache(spec, o, cacheDir, key));
}

async function addToCache(spec: ImageSpec, o: PayloadOptions, cacheDir: string, key: string): Promise<CachedImage> {
  const root = join(cacheDir, 'images');
  const entryDir = join(root, key);
  const hit = await readEntry(entryDir);
  if (hit) {
    await linkOrCopy(join(entryDir, hit.file), join(o.dir, hit.file));
    return { image: { ...hit, source: { ...hit.source, path: spec.kind === 'skopeo' ? spec.source : spec.path } }, cached: true };
  }
  await rm(entryDir, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const tmp = join(root, `.tmp-${key.slice(0, 8)}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    const image = await addImage(spec, { ...o, dir: tmp });
    await writeFile(join(tmp, 'entry.json'), `${JSON.stringify(image, null, 2)}\n`);
    try {
      await rename(tmp, entryDir);
    } catch (e) {
      // Another build stored the same key meanwhile: keep theirs (same inputs, same bytes).
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      await linkOrCopy(join(tmp, image.file), join(o.dir, image.file));
      return { image, cached: false };
    }
    await linkOrCopy(join(entryDir, image.file), join(o.dir, image.file));
    return { image, cached: false };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function readEntry(dir: string): Promise<PayloadImage | undefined> {
  try {
    const entry = join(dir, 'entry.json');
    const image = JSON.parse(await readFile(entry, 'utf8')) as PayloadImage;
    const file = join(dir, image.file);
    const st = await stat(file, { bigint: true });
    const written = await stat(entry, { bigint: true });
    if (st.size !== BigInt(image.bytes)) return undefined;
    // The entry is written after its archive: an archive changed since (edited, replaced) is newer than its entry and
    // is hashed again, and rebuilt when it differs. An untouched one is trusted (the guest's loader checks the sha256
    // before it loads, and verification boots it).
    if (st.mtimeNs > written.mtimeNs && (await sha256File(file)) !== image.sha256) return undefined;
    return image;
  } catch {
    return undefined;
  }
}

/**
 * A source file's sha256, remembered under cacheDir/images/digests/ by the file's identity (device, inode, size,
 * modification and change times): a later build with the same, unchanged file does not read it again. The change
 * time cannot be set back by anyone editing the file, so an edited file is always read again.
 */
export async function rememberedDigest(cacheDir: string, path: string): Promise<string> {
  const id = createHash('sha256')
    .update(await fileIdentity(path))
    .digest('hex')
    .slice(0, 32);
  const memo = join(cacheDir, 'images', 'digests', id);
  try {
    const known = (await readFile(memo, 'utf8')).trim();
    if (/^[0-9a-f]{64}$/.test(known)) return known;
  } catch {
    // not remembered yet
  }
  const digest = await sha256File(path);
  await mkdir(join(cacheDir, 'images', 'digests'), { recursive: true });
  const tmp = `${memo}.${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, `${digest}\n`);
  await rename(tmp, memo);
  return digest;
}
