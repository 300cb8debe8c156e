// Engine: install docker or podman (and the decompressor) into the root in a chroot; nothing is started.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { installsFromMedium } from '../iso/installers.js';
import { need, type Stage } from '../pipeline/context.js';
import { installEngine } from '../pipeline/engine-install.js';
import { fileIdentity } from '../pipeline/resume.js';

/** The offline package folder's identity for resuming: each .deb's name, size and time. */
async function debIdentities(dir: string): Promise<unknown> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.deb')).sort();
  return Promise.all(names.map((n) => fileIdentity(join(dir, n))));
}

export const engine: Stage = {
  title: 'Install the container engine',
  resume: {
    key: 'engine',
    after: ['rootfs'],
    inputs: async (ctx) => {
      const c = ctx.config;
      const debs = c.packages ? await debIdentities(c.packages) : undefined;
      // SOURCE_DATE_EPOCH reaches the package scripts in the chroot.
      return {
        engine: c.engine,
        compression: c.compression,
        extra: c.extraPackages,
        debs,
        store: c.imageStore,
        sde: c.sourceDateEpoch,
      };
    },
    save: (ctx) => ({ facts: { installedPackages: ctx.facts.installedPackages, debs: ctx.facts.debs }, files: [] }),
    restore: (ctx, facts) => {
      const { installedPackages, debs } = facts as { installedPackages?: string[]; debs?: string[] };
      if (installedPackages) ctx.facts.installedPackages = installedPackages;
      if (debs) ctx.facts.debs = debs;
    },
  },
  async run(ctx, task) {
    const layer = need(ctx.facts.root, 'root layer');
    // apt's and dpkg's own lines show with --verbose; their status fd gives the percentages.
    const r = await installEngine(
      ctx,
      layer,
      (line) => {
        task.output = line;
      },
      (t) => (task.title = t),
    );
    ctx.facts.installedPackages = r.installedPackages;
    if (r.cache) ctx.facts.cache.engine = r.cache;
    if (r.downloads) ctx.facts.cache.debs = r.downloads;
    if (ctx.facts.base && installsFromMedium(ctx.facts.base, ctx.facts.target)) {
      ctx.facts.debs = r.debs;
      task.output = `${r.debs.length} .deb file(s) for the installer medium: ${r.installedPackages.join(' ')}`;
    }
  },
};
