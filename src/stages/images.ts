// Images: normalise every source to a compressed docker-archive in the payload, with the manifest.
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InterruptedError, UsageError } from '../errors.js';
import { addImageCached } from '../images/cache.js';
import { manifestJson, manifestTsv, type PayloadImage, type PayloadManifest } from '../images/manifest.js';
import { describeSpec, servedDigest } from '../images/payload.js';
import { normaliseRef } from '../images/reference.js';
import { need, type Stage } from '../pipeline/context.js';
import { fileIdentity } from '../pipeline/resume.js';
import { unitName } from '../units/run-units.js';
import type { ImageSpec, RegistryAuth } from '../types.js';
import { mib } from '../util/format.js';
import { compressionSettings } from '../images/compress.js';

/**
 * What identifies an image source for resuming: the spec, and the file or folder it reads; for a registry or a
 * daemon, the digest it serves now (a tag that moved since the last run is pulled again; a digest that cannot be
 * read now never matches, so the stage runs and reports why).
 */
export async function sourceIdentity(
  spec: ImageSpec,
  o: { auth?: RegistryAuth | undefined; architecture: string; signal?: AbortSignal | undefined },
): Promise<unknown> {
  if (spec.kind !== 'skopeo') return { spec, file: await fileIdentity(spec.path) };
  if (spec.transport === 'docker' || spec.transport === 'docker-daemon') {
    if (/@sha256:[0-9a-f]{64}$/.test(spec.source)) return { spec };
    const digest = await servedDigest(spec, o).catch((e: unknown) => {
      if (e instanceof InterruptedError) throw e;
      return undefined;
    });
    return { spec, digest: digest ?? `unresolved ${randomUUID()}` };
  }
  const local = /^(oci-archive|oci):(.*?)(:[^:/]*)?$/.exec(spec.source);
  if (!local?.[2]) return { spec };
  // An OCI layout changes by its index; an OCI archive is one file.
  const path = local[1] === 'oci' ? join(local[2], 'index.json') : local[2];
  return { spec, file: await fileIdentity(path) };
}

export const images: Stage = {
  title: 'Prepare image archives',
  resume: {
    key: 'images',
    after: [],
    inputs: async (ctx) => ({
      sources: await Promise.all(
        ctx.config.images.map((spec) =>
          sourceIdentity(spec, { auth: ctx.config.registryAuth, architecture: ctx.facts.architecture ?? 'amd64', signal: ctx.signal }),
        ),
      ),
      compression: compressionSettings(ctx.config),
      architecture: ctx.facts.architecture,
      sourceDateEpoch: ctx.config.sourceDateEpoch,
    }),
    save: (ctx) => {
      const m = need(ctx.facts.manifest, 'image manifest');
      const files = [
        ...m.images.map((i) => join('payload', 'images', i.file)),
        join('payload', 'images.json'),
        join('payload', 'images.tsv'),
      ];
      return { facts: m, files };
    },
    restore: (ctx, facts) => {
      ctx.facts.manifest = facts as PayloadManifest;
    },
  },
  async run(ctx, task) {
    const dir = join(ctx.ws.payload, 'images');
    await rm(ctx.ws.payload, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const out: PayloadImage[] = [];
    for (const spec of ctx.config.images) {
      task.output = describeSpec(spec);
      const { image: img, cached } = await addImageCached(
        spec,
        {
          dir,
          compression: compressionSettings(ctx.config),
          architecture: ctx.facts.architecture ?? 'amd64',
          sourceDateEpoch: ctx.config.sourceDateEpoch ?? Math.floor(Date.now() / 1000),
          auth: ctx.config.registryAuth,
          signal: ctx.signal,
          onProgress: (line) => {
            task.output = `${describeSpec(spec)}: ${line}`;
          },
        },
        ctx.config.cacheDir,
        ctx.config.sourceDateEpoch !== undefined,
      );
      ctx.facts.cache.images.push({ ref: img.refs[0] ?? img.imageId, cached });
      for (const ref of img.refs) {
        const clash = out.find((o) => o.refs.some((r) => normaliseRef(r) === normaliseRef(ref)));
        if (clash) {
          throw new UsageError(`image name ${ref} is given twice (${clash.source.path} and ${describeSpec(spec)})`, {
            hint: 'give each image its own name:tag',
          });
        }
      }
      out.push(img);
      const how = cached ? 'cached' : cached === false ? 'compressed, stored in the cache' : 'compressed (not cacheable)';
      task.output = `${img.refs.join(', ')}: ${mib(img.uncompressedBytes)} -> ${mib(img.bytes)} (${ctx.config.compression}, ${how})`;
    }
    const apps = ctx.config.images.flatMap((spec, i) => {
      const ref = out[i]?.refs[0];
      return spec.run && ref ? [{ name: spec.run.name, unit: unitName(spec.run), ref, checkPort: spec.run.checkPort }] : [];
    });
    const names = apps.map((a) => a.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new UsageError(`run name ${dup} is used by two images`, { hint: 'give each run unit its own name' });
    const manifest = { version: 1 as const, compression: ctx.config.compression, images: out, apps };
    await writeFile(join(ctx.ws.payload, 'images.json'), manifestJson(manifest));
    await writeFile(join(ctx.ws.payload, 'images.tsv'), manifestTsv(manifest));
    ctx.facts.manifest = manifest;
  },
};
