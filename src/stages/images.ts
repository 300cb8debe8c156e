// Images: normalise every source to a compressed docker-archive in the payload, with the manifest.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { manifestJson, manifestTsv, type PayloadImage } from '../images/manifest.js';
import { addImage, describeSpec } from '../images/payload.js';
import { normaliseRef } from '../images/reference.js';
import type { Stage } from '../pipeline/context.js';
import { unitName } from '../units/run-units.js';

export const images: Stage = {
  title: 'Prepare image archives',
  async run(ctx, task) {
    const dir = join(ctx.ws.payload, 'images');
    await rm(ctx.ws.payload, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const out: PayloadImage[] = [];
    for (const spec of ctx.config.images) {
      task.output = describeSpec(spec);
      const img = await addImage(spec, {
        dir,
        compression: ctx.config.compression,
        architecture: ctx.facts.architecture ?? 'amd64',
        sourceDateEpoch: ctx.config.sourceDateEpoch ?? Math.floor(Date.now() / 1000),
        auth: ctx.config.registryAuth,
        signal: ctx.signal,
        onProgress: (line) => {
          task.output = `${describeSpec(spec)}: ${line}`;
        },
      });
      for (const ref of img.refs) {
        const clash = out.find((o) => o.refs.some((r) => normaliseRef(r) === normaliseRef(ref)));
        if (clash) {
          throw new UsageError(`image name ${ref} is given twice (${clash.source.path} and ${describeSpec(spec)})`, {
            hint: 'give each image its own name:tag',
          });
        }
      }
      out.push(img);
      task.output = `${img.refs.join(', ')}: ${mib(img.uncompressedBytes)} -> ${mib(img.bytes)} (${ctx.config.compression.kind})`;
    }
    const apps = ctx.config.images.flatMap((spec, i) => {
      const ref = out[i]?.refs[0];
      return spec.run && ref ? [{ name: spec.run.name, unit: unitName(spec.run), ref, checkPort: spec.run.checkPort }] : [];
    });
    const names = apps.map((a) => a.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new UsageError(`run name ${dup} is used by two images`, { hint: 'give each run unit its own name' });
    const manifest = { version: 1 as const, compression: ctx.config.compression.kind, images: out, apps };
    await writeFile(join(ctx.ws.payload, 'images.json'), manifestJson(manifest));
    await writeFile(join(ctx.ws.payload, 'images.tsv'), manifestTsv(manifest));
    ctx.facts.manifest = manifest;
  },
};

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
