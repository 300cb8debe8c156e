// ISO: map the new files into a copy of the base with xorriso, replaying its boot setup; atomic output.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { algoOf, updateChecksumText } from '../iso/checksums.js';
import { xorrisoExtract, xorrisoModify, xorrisoProgress } from '../iso/xorriso.js';
import { need, type Stage } from '../pipeline/context.js';
import { mib } from '../util/format.js';
import { hashFile } from '../util/hash.js';
import { partialPath } from '../iso/output.js';

export const iso: Stage = {
  title: 'Write the ISO (xorriso, boot setup replayed)',
  async run(ctx, task) {
    const base = need(ctx.facts.base, 'base ISO');
    const layer = need(ctx.facts.layer, 'new layer');
    const files = ctx.ws.isoFiles;
    await rm(files, { recursive: true, force: true });
    await mkdir(files, { recursive: true });
    const map = ctx.facts.isoMap;

    // live-boot reads filesystem.module, when present, instead of sorting: name our layer last in it.
    if (ctx.facts.root?.mode === 'layer' && base.moduleFile && ctx.facts.target !== 'installed') {
      const local = join(files, 'filesystem.module');
      await xorrisoExtract(base.iso, [{ from: base.moduleFile, to: local }], { signal: ctx.signal });
      const names = (await readFile(local, 'utf8')).split(/\s+/).filter(Boolean);
      names.push(basename(layer.isoPath));
      await writeFile(local, `${names.join('\n')}\n`);
      map.set(base.moduleFile, local);
    }

    // Checksum files: recompute exactly the entries for files we add or replace.
    if (base.checksumFiles.length > 0) {
      const pairs = base.checksumFiles.map((p) => ({ from: p, to: join(files, `checksum-${basename(p)}`) }));
      await xorrisoExtract(base.iso, pairs, { signal: ctx.signal });
      // Each added or replaced file is read once for every algorithm the checksum files use (md5 and sha256).
      const algos = [...new Set(base.checksumFiles.map(algoOf))];
      const digests = new Map<string, string[]>();
      for (const [isoPath, host] of map) {
        if (base.checksumFiles.includes(isoPath)) continue;
        task.output = `${algos.join(' and ')} of ${isoPath}`;
        digests.set(isoPath, await hashFile(host, algos));
      }
      for (const { from, to } of pairs) {
        const i = algos.indexOf(algoOf(from));
        const changed = new Map([...digests].map(([isoPath, d]) => [isoPath, d[i] ?? '']));
        await writeFile(to, updateChecksumText(await readFile(to, 'utf8'), changed));
        map.set(from, to);
      }
    }

    const out = resolve(ctx.config.out);
    const partial = partialPath(out);
    await rm(partial, { force: true });
    try {
      await xorrisoModify(
        {
          indev: base.iso,
          outdev: partial,
          map: [...map].map(([target, source]) => ({ source, target })),
          volumeUuid: base.volumeUuid,
          sourceDateEpoch: ctx.config.sourceDateEpoch,
        },
        {
          signal: ctx.signal,
          onLine: xorrisoProgress((line) => {
            task.output = line;
          }, 'xorriso'),
        },
      );
      const sha = createHash('sha256');
      await pipeline(createReadStream(partial), sha);
      const bytes = (await stat(partial)).size;
      task.output = `xorriso: 100 % (${mib(bytes)})`;
      // Verification boots this very file; publish renames it onto --out only after that passed.
      ctx.facts.output = { path: partial, bytes, sha256: sha.digest('hex') };
      task.output = `${mib(bytes)} written beside ${out}`;
    } catch (e) {
      await rm(partial, { force: true });
      throw e;
    }
  },
};
