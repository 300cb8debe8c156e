// Fetch debs (remaster packages fetch): the engine's packages and every dependency the base's root lacks, downloaded
// in that root (its release, its architecture) and copied to the output folder with packages.json.
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { need, type Stage } from '../pipeline/context.js';
import { withChroot } from '../rootfs/chroot.js';
import { aptDownload, engineCompanions, packagesFor } from '../rootfs/packages.js';

export const fetchDebs: Stage = {
  title: 'Download the engine packages and their dependencies',
  async run(ctx, task) {
    const c = ctx.config;
    const root = need(ctx.facts.root, 'root layer').merged;
    const pkgs = await withChroot(root, { signal: ctx.signal }, (s) =>
      aptDownload(
        s,
        packagesFor(c.engine, c.compression, c.extraPackages, c.imageStore),
        { signal: ctx.signal },
        (line) => {
          task.output = line;
        },
        engineCompanions[c.engine],
      ),
    );
    const archives = join(root, 'var/cache/apt/archives');
    const debs = (await readdir(archives)).filter((f) => f.endsWith('.deb')).sort();
    const out = resolve(c.out);
    await mkdir(out, { recursive: true });
    for (const d of debs) await copyFile(join(archives, d), join(out, d));
    await writeFile(
      join(out, 'packages.json'),
      `${JSON.stringify({ engine: c.engine, requested: pkgs, base: { iso: c.iso, volumeId: need(ctx.facts.base, 'base').volumeId }, architecture: ctx.facts.architecture, debs }, null, 2)}\n`,
    );
    ctx.facts.installedPackages = debs;
    task.output = `${debs.length} packages in ${out}`;
  },
};
