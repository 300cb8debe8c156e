// Turn each image source into a compressed docker-archive in the payload directory, with its manifest entry.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { InterruptedError, ToolError, UsageError } from '../errors.js';
import { currentTrace, maskSecrets } from '../exec/trace.js';
import { type CompressionSettings, compressionExtension, compressorArgv } from './compress.js';
import { readDockerArchive, retagDockerArchive, scanRootfsTar, writeRootfsImage } from './docker-archive.js';
import type { PayloadImage } from './manifest.js';
import { archiveBaseName, parseRef } from './reference.js';
import type { ImageSource, ImageSpec, RegistryAuth } from '../types.js';
import { registryHost, skopeoCopy, skopeoDigest, withAuthFile } from './skopeo.js';
import { Throttle, pctText } from '../util/progress.js';
import { mib } from '../util/format.js';
import { sha256File } from '../util/hash.js';

export interface PayloadOptions {
  dir: string;
  compression: CompressionSettings;
  /** Image architecture for rootfs tarballs (the base ISO's). */
  architecture: string;
  sourceDateEpoch: number;
  auth?: RegistryAuth | undefined;
  signal?: AbortSignal | undefined;
  /** Throttled progress lines: skopeo's copy, the compressor's bytes in against the image's size. */
  onProgress?: ((line: string) => void) | undefined;
}

/** How a source is named in progress lines and errors. */
export function describeSpec(spec: ImageSpec): string {
  return spec.kind === 'skopeo' ? spec.source : `${spec.kind}:${spec.path}`;
}

/** The name an image from a skopeo source gets: the given one, else the registry/daemon reference itself. */
export function skopeoRef(spec: Extract<ImageSource, { kind: 'skopeo' }>): string {
  if (spec.ref) return parseRef(spec.ref, `${spec.source}=`).full;
  if (spec.transport === 'docker' || spec.transport === 'docker-daemon') {
    const location = spec.source.replace(/^docker:\/\//, '').replace(/^docker-daemon:/, '');
    if (location.includes('@')) {
      throw new UsageError(`${spec.source} is pinned by digest: give it a name for the engine`, { hint: `${spec.source}=<name:tag>` });
    }
    return parseRef(location, spec.source).full;
  }
  throw new UsageError(`${spec.source}: an OCI image needs a name for the engine`, { hint: `${spec.source}=<name:tag>` });
}

type SkopeoSpec = Extract<ImageSource, { kind: 'skopeo' }>;

/** Run fn with skopeo's options for spec: credentials for a registry, DOCKER_HOST for a daemon, TLS, platform. */
function withSkopeoOptions<T>(
  spec: SkopeoSpec,
  o: Pick<PayloadOptions, 'auth' | 'architecture'>,
  fn: (common: {
    authFile: string | undefined;
    tlsVerify?: boolean | undefined;
    arch: string;
    daemonHost?: string | undefined;
  }) => Promise<T>,
): Promise<T> {
  return withAuthFile(o.auth ?? {}, spec.transport === 'docker' ? registryHost(spec.source) : '', (authFile) => {
    const daemonHost = spec.transport === 'docker-daemon' ? process.env.DOCKER_HOST || undefined : undefined;
    return fn({ authFile, tlsVerify: spec.tlsVerify, arch: o.architecture, daemonHost });
  });
}

/** The manifest digest a registry or docker daemon serves for spec now; undefined when it gives none. */
export function servedDigest(spec: SkopeoSpec, o: Pick<PayloadOptions, 'auth' | 'architecture' | 'signal'>): Promise<string | undefined> {
  return withSkopeoOptions(spec, o, (common) => skopeoDigest(spec.source, common, { signal: o.signal }));
}

/** skopeo (registry, OCI archive or layout, docker daemon) -> a plain docker-archive in dir, then as usual. */
async function fromSkopeo(spec: SkopeoSpec, o: PayloadOptions): Promise<PayloadImage> {
  const ref = skopeoRef(spec);
  const tmp = join(o.dir, `.${archiveBaseName(ref)}.source.tar`);
  await rm(tmp, { force: true });
  try {
    const digest = await withSkopeoOptions(spec, o, async (common) => {
      await skopeoCopy({ source: spec.source, dest: tmp, ref, ...common }, { signal: o.signal }, o.onProgress);
      return skopeoDigest(spec.source, common, { signal: o.signal });
    });
    // skopeo writes docker.io/ into RepoTags for short names: record exactly the name the user gave.
    const img = await addImage({ kind: 'docker-archive', path: tmp, ref }, o);
    return { ...img, source: { kind: spec.transport, path: spec.source, digest: digest ?? img.source.digest } };
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Normalise one source to a compressed docker-archive in o.dir. */
export async function addImage(spec: ImageSpec, o: PayloadOptions): Promise<PayloadImage> {
  if (spec.kind === 'skopeo') return fromSkopeo(spec, o);
  let refs: string[];
  let imageId: string;
  let produce: (out: Writable) => Promise<void>;
  if (spec.kind === 'docker-archive') {
    const info = await readDockerArchive(spec.path);
    if (spec.ref) {
      refs = [parseRef(spec.ref, `--image ${spec.path}=`).full];
      produce = (out) => retagDockerArchive(spec.path, refs, out);
    } else {
      if (info.refs.length === 0) {
        throw new UsageError(`${spec.path} has no image name (RepoTags is empty: saved by image ID?)`, {
          hint: `name it: --image ${spec.path}=<name:tag>`,
        });
      }
      refs = info.refs.map((r) => parseRef(r, `RepoTags entry in ${spec.path}:`).full);
      produce = (out) => pipeline(createReadStream(spec.path), out);
    }
    imageId = info.imageId;
  } else {
    const ref = parseRef(spec.ref, `--image rootfs:${spec.path}=`).full;
    refs = [ref];
    const facts = await scanRootfsTar(spec.path, o.signal);
    let id = '';
    produce = async (out) => {
      id = (
        await writeRootfsImage(
          {
            rootfsTar: spec.path,
            ref,
            architecture: o.architecture,
            created: o.sourceDateEpoch,
            cmd: spec.cmd,
            entrypoint: spec.entrypoint,
            env: spec.env,
          },
          facts,
          out,
          o.signal,
        )
      ).imageId;
    };
    imageId = '';
    const file = `${archiveBaseName(ref)}${compressionExtension[o.compression.kind]}`;
    const written = await compressTo(join(o.dir, file), produce, o, (await stat(spec.path)).size);
    imageId = id;
    return {
      refs,
      file,
      imageId,
      ...written,
      source: { kind: 'rootfs', path: spec.path, digest: `sha256:${await sha256File(spec.path)}` },
    };
  }
  const file = `${archiveBaseName(refs[0] ?? imageId)}${compressionExtension[o.compression.kind]}`;
  const written = await compressTo(join(o.dir, file), produce, o, (await stat(spec.path)).size);
  return {
    refs,
    file,
    imageId,
    ...written,
    source: { kind: 'docker-archive', path: spec.path, digest: `sha256:${await sha256File(spec.path)}` },
  };
}

interface Written {
  sha256: string;
  bytes: number;
  uncompressedBytes: number;
}

/** produce() writes a tar; it goes through the compressor into target (atomically), hashed on the way. */
async function compressTo(
  target: string,
  produce: (out: Writable) => Promise<void>,
  o: PayloadOptions,
  expectedBytes: number,
): Promise<Written> {
  const partial = `${target}.partial`;
  const hash = createHash('sha256');
  let bytes = 0;
  let uncompressedBytes = 0;
  const tool = compressorArgv(o.compression)?.[0] ?? 'copy';
  const throttle = o.onProgress && new Throttle(o.onProgress);
  const progress = (final: boolean) => {
    // The tar is about the size of its source; never claim 100 % before the end.
    const pct = final ? 100 : Math.min(99, expectedBytes > 0 ? (uncompressedBytes / expectedBytes) * 100 : 0);
    throttle?.report(pct, `${tool}: ${pctText(pct)} (${mib(uncompressedBytes)} in, ${mib(bytes)} out)`);
  };
  const counter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      uncompressedBytes += chunk.length;
      progress(false);
      cb(null, chunk);
    },
  });
  const hasher = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  const file = createWriteStream(partial);
  try {
    const argv = compressorArgv(o.compression);
    if (!argv) {
      await Promise.all([produce(counter), pipeline(counter, hasher, file)]);
    } else {
      const [tool, args] = argv;
      currentTrace()?.command(maskSecrets([tool, ...args]));
      const child = execa(tool, args, {
        stdin: 'pipe',
        stdout: 'pipe',
        buffer: { stdout: false, stderr: true },
        reject: false,
        ...(o.signal ? { cancelSignal: o.signal } : {}),
      });
      const input = new PassThrough();
      // A compressor stopped by an interrupt breaks its pipes while data still flows: the pipelines report
      // that, and a late write must not crash the process as an unheard 'error' event.
      for (const st of [child.stdin, child.stdout, input, counter, hasher]) st?.on('error', () => {});
      const toChild = pipeline(input, counter, child.stdin as Writable);
      const fromChild = pipeline(child.stdout as NodeJS.ReadableStream, hasher, file);
      await Promise.all([produce(input), toChild, fromChild]);
      const r = await child;
      if (r.exitCode !== 0) {
        throw new ToolError(`${tool} failed compressing ${target}: ${String(r.stderr).trim()}`, tool, String(r.stderr), {
          hint: tool === 'zstd' ? 'install it: apt-get install zstd' : undefined,
        });
      }
    }
    await rename(partial, target);
    progress(true);
  } catch (e) {
    file.destroy();
    await rm(partial, { force: true });
    if (o.signal?.aborted) throw new InterruptedError(`interrupted while compressing ${target}`);
    throw e;
  }
  return { sha256: hash.digest('hex'), bytes, uncompressedBytes };
}
