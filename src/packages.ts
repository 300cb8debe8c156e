// `remaster packages fetch`: a folder of .debs with the engine's full dependency closure for one base ISO,
// so that `build --packages <dir>` installs with no network.
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BuildConfig } from './config/types.js';
import type { Stage } from './pipeline/context.js';
import { need } from './pipeline/context.js';
import { newContext, type RendererChoice, runStages } from './pipeline/runner.js';
import { Workspace } from './pipeline/workspace.js';
import { withChroot } from './rootfs/chroot.js';
import { aptDownload, packagesFor } from './rootfs/packages.js';
import { inspect } from './stages/inspect.js';
import { requireRoot } from './stages/preflight.js';
import { rootfs } from './stages/rootfs.js';
import type { Compression, Engine } from './types.js';

export interface FetchPackagesOptions {
  iso: string;
  engine: Engine;
  outDir: string;
  compression?: Compression;
  extraPackages?: string[];
  cacheDir: string;
  renderer?: RendererChoice;
  signal?: AbortSignal;
  /** Also show each external command line and the tools' own output. */
  verbose?: boolean;
}

export interface FetchPackagesResult {
  dir: string;
  debs: string[];
  architecture: string;
}

const fetchDebs: Stage = {
  title: 'Download the engine packages and their dependencies',
  async run(ctx, task) {
    const c = ctx.config;
    const pkgs = packagesFor(c.engine, c.compression.kind, c.extraPackages);
    const root = need(ctx.facts.root, 'root layer').merged;
    await withChroot(root, { signal: ctx.signal }, (s) =>
      aptDownload(s, pkgs, { signal: ctx.signal }, (line) => {
        task.output = line;
      }),
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

export async function fetchPackages(o: FetchPackagesOptions): Promise<FetchPackagesResult> {
  requireRoot('remaster packages fetch');
  const config: BuildConfig = Object.freeze({
    iso: resolve(o.iso),
    out: resolve(o.outDir),
    engine: o.engine,
    images: [],
    verify: [],
    verifyMedia: [],
    compression: { kind: o.compression ?? 'zstd' },
    rootfsMode: 'layer',
    extraPackages: o.extraPackages ?? [],
    deleteAfterLoad: false,
    podmanStore: 'load',
    tmpfsSize: '75%',
    accel: 'auto',
    cacheDir: o.cacheDir,
    keepWork: false,
    engineCache: true,
    boot: { kernelArgs: [], serialConsole: false },
    resume: false,
    registryAuth: {},
  });
  const ws = new Workspace(join(o.cacheDir, 'work', 'packages-fetch'));
  const ctx = newContext(config, ws, o.signal ?? new AbortController().signal);
  await ws.open();
  try {
    await runStages(ctx, [inspect, rootfs, fetchDebs], { renderer: o.renderer ?? 'plain', signal: ctx.signal, verbose: o.verbose });
  } finally {
    await ws.remove();
  }
  return { dir: config.out, debs: ctx.facts.installedPackages ?? [], architecture: ctx.facts.architecture ?? 'amd64' };
}
