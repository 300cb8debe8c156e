// Turn each image source into a compressed docker-archive in the payload directory, with its manifest entry.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { ToolError, UsageError } from '../errors.js';
import { type CompressionSettings, compressionExtension, compressorArgv } from './compress.js';
import { readDockerArchive, retagDockerArchive, scanRootfsTar, writeRootfsImage } from './docker-archive.js';
import type { PayloadImage } from './manifest.js';
import { archiveBaseName, parseRef } from './reference.js';

export type ImageSpec =
  | { kind: 'docker-archive'; path: string; ref?: string | undefined }
  | {
      kind: 'rootfs';
      path: string;
      ref: string;
      cmd?: string[] | undefined;
      entrypoint?: string[] | undefined;
      env?: string[] | undefined;
    };

export interface PayloadOptions {
  dir: string;
  compression: CompressionSettings;
  /** Image architecture for rootfs tarballs (the base ISO's). */
  architecture: string;
  sourceDateEpoch: number;
  signal?: AbortSignal | undefined;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/** Normalise one source to a compressed docker-archive in o.dir. */
export async function addImage(spec: ImageSpec, o: PayloadOptions): Promise<PayloadImage> {
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
    const written = await compressTo(join(o.dir, file), produce, o);
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
  const written = await compressTo(join(o.dir, file), produce, o);
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
async function compressTo(target: string, produce: (out: Writable) => Promise<void>, o: PayloadOptions): Promise<Written> {
  const partial = `${target}.partial`;
  const hash = createHash('sha256');
  let bytes = 0;
  let uncompressedBytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      uncompressedBytes += chunk.length;
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
      const child = execa(tool, args, {
        stdin: 'pipe',
        stdout: 'pipe',
        buffer: { stdout: false, stderr: true },
        reject: false,
        ...(o.signal ? { cancelSignal: o.signal } : {}),
      });
      const input = new PassThrough();
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
  } catch (e) {
    file.destroy();
    await rm(partial, { force: true });
    throw e;
  }
  return { sha256: hash.digest('hex'), bytes, uncompressedBytes };
}
