// build(): the whole pipeline as a library call; the stage list is the program's table of contents.
import { rm } from 'node:fs/promises';
import type { BuildConfig } from './config/types.js';
import { requireRoot } from './stages/preflight.js';
import type { PayloadManifest } from './images/manifest.js';
import type { CacheFacts, StageTiming, VerifyOutcome } from './pipeline/context.js';
import { newContext, type RendererChoice, runStages } from './pipeline/runner.js';
import { RESUME_FILE, ResumeStore } from './pipeline/resume.js';
import { pruneStaleWorkspaces, Workspace } from './pipeline/workspace.js';
import { VERSION } from './cli/help.js';
import { engine } from './stages/engine.js';
import { images } from './stages/images.js';
import { metadata } from './stages/metadata.js';
import { inspect } from './stages/inspect.js';
import { iso } from './stages/iso.js';
import { payload } from './stages/payload.js';
import { preflight } from './stages/preflight.js';
import { readyStore } from './stages/ready-store.js';
import { rootfs } from './stages/rootfs.js';
import { squash } from './stages/squash.js';
import { verify } from './stages/verify.js';
import { cleanupOutput } from './iso/output.js';
import { publish } from './stages/publish.js';

/** What a build leaves in its work folder besides verification evidence (removed after success unless --keep-work). */
const WORK_PARTS = [
  'layer',
  'layer.touched',
  'payload',
  'payload-written.json',
  'iso-files',
  'meta',
  'mnt',
  'layer.squashfs',
  'layer.squashfs.partial',
  'ready-store.squashfs',
  'ready-store.squashfs.partial',
  'ready-store',
  'ready-run',
  'ready-source.tar',
  RESUME_FILE,
];

export const buildStages = [
  preflight,
  inspect,
  rootfs,
  images,
  engine,
  payload,
  readyStore,
  squash,
  metadata,
  iso,
  verify,
  publish,
] as const;

export interface BuildReport {
  ok: boolean;
  base: { iso: string; flavor?: string | undefined; bytes?: number | undefined };
  output?: { path: string; bytes: number; sha256: string } | undefined;
  engine: string;
  mode?: 'layer' | 'rebuild' | undefined;
  layer?: { isoPath: string; bytes: number } | undefined;
  packages?: string[] | undefined;
  images?: PayloadManifest | undefined;
  /** What the shared caches (image archives, .deb downloads) under cacheDir saved. */
  cache?: CacheFacts | undefined;
  stages: StageTiming[];
  verify: VerifyOutcome[];
  seconds: number;
  /** Set when the build failed. */
  error?: { message: string; hint?: string | undefined } | undefined;
  /** An ISO that failed verification, kept aside (never at --out). */
  unverifiedOutput?: { path: string; bytes: number; sha256: string } | undefined;
}

export interface BuildOptions {
  renderer?: RendererChoice;
  signal?: AbortSignal;
  stream?: NodeJS.WriteStream;
  /** Every stage event and progress line, timestamped by the caller (--log-file). */
  log?: (line: string) => void;
  /** Also show each external command line (secrets masked) and the tools' own output. */
  verbose?: boolean;
}

/** A failed build still has a report (what ran, for how long, what verification saw): it rides on the error. */
export function reportOf(e: unknown): BuildReport | undefined {
  return e && typeof e === 'object' && 'report' in e ? (e as { report: BuildReport }).report : undefined;
}

export async function build(config: BuildConfig, o: BuildOptions = {}): Promise<BuildReport> {
  const ws = config.workDir ? new Workspace(config.workDir) : Workspace.forOutput(config.cacheDir, config.out);
  const signal = o.signal ?? new AbortController().signal;
  requireRoot('remaster build');
  await ws.open();
  await pruneStaleWorkspaces(config.cacheDir, ws.root);
  const resume = await ResumeStore.load(ws.root, { salt: VERSION, reuse: config.resume });
  const ctx = newContext(config, ws, signal, resume);
  const t0 = performance.now();
  const report = (ok: boolean, error?: unknown): BuildReport => {
    const f = ctx.facts;
    const r: BuildReport = {
      ok,
      base: { iso: config.iso, flavor: f.base?.flavor, bytes: f.base?.bytes },
      output: ok ? f.output : undefined,
      engine: config.engine,
      mode: f.root?.mode,
      layer: f.layer && { isoPath: f.layer.isoPath, bytes: f.layer.bytes },
      packages: f.installedPackages,
      images: f.manifest,
      cache: f.cache,
      stages: ctx.timings,
      verify: f.verify,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
    };
    if (error instanceof Error) r.error = { message: error.message, hint: (error as { hint?: string }).hint };
    return r;
  };
  let ok = false;
  try {
    await runStages(ctx, buildStages, { renderer: o.renderer ?? 'plain', signal, stream: o.stream, log: o.log, verbose: o.verbose });
    ok = true;
  } catch (e) {
    const aside = await cleanupOutput(config.out, e);
    const r = report(false, e);
    if (aside && ctx.facts.output) r.unverifiedOutput = { ...ctx.facts.output, path: aside };
    if (e && typeof e === 'object') Object.assign(e, { report: r });
    throw e;
  } finally {
    await ws.release();
    // A failed or interrupted build keeps its work for the next run to resume; a finished one clears it.
    if (ok && !config.keepWork) {
      for (const name of WORK_PARTS) await rm(ws.path(name), { recursive: true, force: true });
    }
  }
  return report(ctx.facts.verify.every((v) => v.ok));
}
