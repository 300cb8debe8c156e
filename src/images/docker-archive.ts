// docker-archive tars (docker save / podman load format): read their metadata, write them from a rootfs tar.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { execa } from 'execa';
import tar from 'tar-stream';
import { UsageError } from '../errors.js';

export interface ArchiveManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

export interface DockerArchiveInfo {
  refs: string[];
  /** sha256:<hex> of the config blob. */
  imageId: string;
  layers: number;
  architecture?: string;
}

/** Unsafe archive member names: absolute, or climbing out with "..". */
export function unsafeEntryName(name: string): boolean {
  if (name.startsWith('/')) return true;
  return name.split('/').some((part) => part === '..');
}

/** Read manifest.json and the config blob of a docker-archive without unpacking it to disk. */
export async function readDockerArchive(path: string): Promise<DockerArchiveInfo> {
  const small = new Map<string, Buffer>();
  let refused: UsageError | undefined;
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const name = normaliseMember(header.name);
    if (unsafeEntryName(header.name) && !refused) {
      refused = new UsageError(`${path}: archive entry ${JSON.stringify(header.name)} escapes the archive`, {
        hint: 'refusing an archive with absolute or ".." member names; re-create it with docker save or skopeo',
      });
    }
    if (header.type === 'file' && (header.size ?? 0) < 4 * 1024 * 1024 && (name.endsWith('.json') || !name.includes('.'))) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        small.set(name, Buffer.concat(chunks));
        next();
      });
    } else {
      stream.on('end', next);
      stream.resume();
    }
  });
  await pipeline(createReadStream(path), extract).catch((e: unknown) => {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${path} is not a readable tar archive`, {
      hint: 'pass a docker-archive made by docker save, podman save or skopeo',
      cause: e,
    });
  });
  if (refused) throw refused;
  const manifestBytes = small.get('manifest.json');
  if (!manifestBytes) {
    throw new UsageError(`${path} is a tar archive but not a docker-archive: it has no manifest.json`, {
      hint: 'for a root filesystem tarball, name the image: --image rootfs:<path>=<name:tag>',
    });
  }
  let entries: ArchiveManifestEntry[];
  try {
    entries = JSON.parse(manifestBytes.toString('utf8')) as ArchiveManifestEntry[];
  } catch (e) {
    throw new UsageError(`${path}: manifest.json is not valid JSON`, { cause: e });
  }
  if (!Array.isArray(entries) || entries.length !== 1 || !entries[0]) {
    throw new UsageError(
      `${path}: manifest.json lists ${Array.isArray(entries) ? entries.length : 'no'} images; remaster takes one image per archive`,
      {
        hint: 'save each image into its own archive (docker save app:1 -o app.tar)',
      },
    );
  }
  const entry = entries[0];
  const config = small.get(normaliseMember(entry.Config));
  if (!config) throw new UsageError(`${path}: config ${entry.Config} named in manifest.json is missing`);
  const parsed = JSON.parse(config.toString('utf8')) as { architecture?: string };
  const info: DockerArchiveInfo = {
    refs: entry.RepoTags ?? [],
    imageId: `sha256:${createHash('sha256').update(config).digest('hex')}`,
    layers: entry.Layers.length,
  };
  if (parsed.architecture) info.architecture = parsed.architecture;
  return info;
}

function normaliseMember(name: string): string {
  return name.replace(/^\.\//, '');
}

export type TarCompression = 'none' | 'gzip' | 'zstd' | 'xz' | 'bzip2';

export async function sniffCompression(path: string): Promise<TarCompression> {
  const fh = await import('node:fs/promises').then((fs) => fs.open(path, 'r'));
  try {
    const b = Buffer.alloc(6);
    await fh.read(b, 0, 6, 0);
    if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
    if (b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    if (b.toString('latin1', 0, 6) === '\xfd7zXZ\x00') return 'xz';
    if (b.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
    return 'none';
  } finally {
    await fh.close();
  }
}

/** A stream of the tar inside `path`, decompressed. */
export function openTar(path: string, compression: TarCompression, signal?: AbortSignal): Readable {
  switch (compression) {
    case 'none':
      return createReadStream(path);
    case 'gzip':
      return createReadStream(path).pipe(createGunzip());
    default: {
      const tool = compression === 'zstd' ? 'zstd' : compression === 'xz' ? 'xz' : 'bzip2';
      const child = execa(tool, ['-dc', path], {
        buffer: { stdout: false, stderr: true },
        ...(signal ? { cancelSignal: signal } : {}),
        reject: false,
      });
      const out = child.stdout as Readable;
      child
        .then((r) => {
          if (r.exitCode !== 0)
            out.destroy(new UsageError(`${path}: ${tool} could not decompress it (${String(r.stderr).trim() || `exit ${r.exitCode}`})`));
        })
        .catch(() => {});
      return out;
    }
  }
}

export interface LayerFacts {
  diffId: string;
  bytes: number;
  entries: number;
}

/** Pass 1 over a rootfs tar: its digest and size, and a check that no member escapes the root. */
export async function scanRootfsTar(path: string, signal?: AbortSignal): Promise<LayerFacts> {
  const compression = await sniffCompression(path);
  const hash = createHash('sha256');
  let bytes = 0;
  let entries = 0;
  let refused: UsageError | undefined;
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    entries++;
    if (!refused && (unsafeEntryName(header.name) || (header.type === 'link' && header.linkname && unsafeEntryName(header.linkname)))) {
      refused = new UsageError(`${path}: entry ${JSON.stringify(header.name)} would be written outside the image root`, {
        hint: 'create the tarball from inside the root (tar -C rootfs -cf rootfs.tar .)',
      });
    }
    stream.on('end', next);
    stream.resume();
  });
  const tee = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(openTar(path, compression, signal), tee, extract);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${path} is not a readable tar archive`, {
      hint: 'pass a root filesystem tarball (tar, tar.gz, tar.zst, tar.xz)',
      cause: e,
    });
  }
  if (refused) throw refused;
  if (entries === 0) throw new UsageError(`${path} is an empty tar archive`, { hint: 'the rootfs tarball must hold the image files' });
  return { diffId: `sha256:${hash.digest('hex')}`, bytes, entries };
}

export interface RootfsImageSpec {
  rootfsTar: string;
  ref: string;
  architecture: string;
  /** Seconds since the epoch for the image's created time and tar mtimes. */
  created: number;
  cmd?: string[] | undefined;
  entrypoint?: string[] | undefined;
  env?: string[] | undefined;
  workingDir?: string | undefined;
}

export function imageConfig(spec: RootfsImageSpec, diffId: string): Buffer {
  const created = new Date(spec.created * 1000).toISOString();
  const config: Record<string, unknown> = {
    Env: spec.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  };
  if (spec.cmd) config.Cmd = spec.cmd;
  if (spec.entrypoint) config.Entrypoint = spec.entrypoint;
  if (spec.workingDir) config.WorkingDir = spec.workingDir;
  return Buffer.from(
    JSON.stringify({
      architecture: spec.architecture,
      os: 'linux',
      created,
      config,
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, created_by: 'remaster: rootfs tarball', comment: 'imported from a root filesystem tarball' }],
    }),
  );
}

/**
 * Pass 2: stream a docker-archive (manifest.json, config, one layer = the rootfs tar) into `out`.
 * Deterministic: fixed member order and mtimes, no owner names.
 */
export async function writeRootfsImage(
  spec: RootfsImageSpec,
  facts: LayerFacts,
  out: Writable,
  signal?: AbortSignal,
): Promise<{ imageId: string }> {
  const config = imageConfig(spec, facts.diffId);
  const configHex = createHash('sha256').update(config).digest('hex');
  const layerHex = facts.diffId.slice('sha256:'.length);
  const manifest: ArchiveManifestEntry[] = [{ Config: `${configHex}.json`, RepoTags: [spec.ref], Layers: [`${layerHex}.tar`] }];
  const [name, tag] = splitRef(spec.ref);
  const repositories = { [name]: { [tag]: layerHex } };
  const pack = tar.pack();
  const mtime = new Date(spec.created * 1000);
  const done = pipeline(pack, out);
  // Awaited at the end; a failure before that (an interrupt) must not also surface as an unhandled rejection.
  done.catch(() => {});
  const add = (name: string, body: Buffer) =>
    new Promise<void>((resolve, reject) =>
      quiet(pack.entry({ name, mtime, mode: 0o644, uid: 0, gid: 0 }, body, (e) => (e ? reject(e) : resolve()))),
    );
  await add(`${configHex}.json`, config);
  const layerEntry = quiet(pack.entry({ name: `${layerHex}.tar`, size: facts.bytes, mtime, mode: 0o644, uid: 0, gid: 0 }));
  await pipeline(openTar(spec.rootfsTar, await sniffCompression(spec.rootfsTar), signal), layerEntry);
  await add('manifest.json', Buffer.from(JSON.stringify(manifest)));
  await add('repositories', Buffer.from(JSON.stringify(repositories)));
  pack.finalize();
  await done;
  return { imageId: `sha256:${configHex}` };
}

/**
 * Stream an existing docker-archive into `out`, replacing its RepoTags (and repositories file) with `refs`.
 * Every other member is copied byte for byte.
 */
export async function retagDockerArchive(path: string, refs: string[], out: Writable): Promise<void> {
  const extract = tar.extract();
  const pack = tar.pack();
  const done = pipeline(pack, out);
  // Awaited at the end; a failure before that (an interrupt) must not also surface as an unhandled rejection.
  done.catch(() => {});
  extract.on('entry', (header, stream, next) => {
    const name = normaliseMember(header.name);
    if (name === 'manifest.json' || name === 'repositories') {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        let body = Buffer.concat(chunks);
        if (name === 'manifest.json') {
          const m = JSON.parse(body.toString('utf8')) as ArchiveManifestEntry[];
          for (const e of m) e.RepoTags = refs;
          body = Buffer.from(JSON.stringify(m));
        } else {
          body = Buffer.from('{}');
        }
        quiet(pack.entry({ ...header, size: body.length }, body, (e) => (e ? extract.destroy(e) : next())));
      });
      return;
    }
    const entry = quiet(pack.entry(header, (e) => (e ? extract.destroy(e) : next())));
    stream.pipe(entry);
  });
  await pipeline(createReadStream(path), extract);
  pack.finalize();
  await done;
}

/**
 * A tar entry's errors arrive through its callback or pipeline; when the pack is torn down (an interrupt) the
 * entry also emits 'error', which, unheard, would crash the process.
 */
function quiet<T extends { on(event: 'error', fn: () => void): unknown }>(entry: T): T {
  entry.on('error', () => {});
  return entry;
}

function splitRef(ref: string): [string, string] {
  const i = ref.lastIndexOf(':');
  return i > ref.lastIndexOf('/') ? [ref.slice(0, i), ref.slice(i + 1)] : [ref, 'latest'];
}

export { Readable };
