// The programs as library calls: build() and fetchPackages(). Each stage list is its program's table of contents.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuildConfig, toBuildConfig } from './config/load.js';
import type { PayloadManifest } from './images/manifest.js';
import { ExitCode, isRemasterError } from './errors.js';
import { cleanupOutput } from './iso/output.js';
import type { CacheFacts, StageTiming } from './pipeline/context.js';
import { RESUME_FILE, ResumeStore } from './pipeline/resume.js';
import { newContext, type RendererChoice, runStages } from './pipeline/runner.js';
import { pruneStaleWorkspaces, Workspace } from './pipeline/workspace.js';
import { engine } from './stages/engine.js';
import { fetchDebs } from './stages/fetch-debs.js';
import { images } from './stages/images.js';
import { inspect } from './stages/inspect.js';
import { installer } from './stages/installer.js';
import { iso } from './stages/iso.js';
import { medium } from './stages/medium.js';
import { metadata } from './stages/metadata.js';
import { payload } from './stages/payload.js';
import { preflight, requireRoot } from './stages/preflight.js';
import { publish } from './stages/publish.js';
import { readyStore } from './stages/ready-store.js';
import { rootfs } from './stages/rootfs.js';
import { sources } from './stages/sources.js';
import { squash } from './stages/squash.js';
import { verify } from './stages/verify.js';
import type { Compression, Engine, Target } from './types.js';
import { VERSION } from './util/version.js';
import type { VerifyOutcome } from './verify/verdict.js';

/** What a build leaves in its work folder besides verification evidence (removed after success unless --keep-work). */
const WORK_PARTS = [
  'layer',
  'layer.touched',
  'payload',
  'payload-written.json',
  'iso-files',
  'installer',
  'sources',
  'install-sources.yaml',
  'medium',
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
  medium,
  readyStore,
  squash,
  sources,
  metadata,
  installer,
  iso,
  verify,
  publish,
] as const;

export interface BuildReport {
  ok: boolean;
  base: { iso: string; flavor?: string | undefined; bytes?: number | undefined };
  output?: { path: string; bytes: number; sha256: string } | undefined;
  engine: string;
  /** What got the payload: the live session, systems installed from the ISO, or both. */
  target?: Target | undefined;
  mode?: 'layer' | 'rebuild' | undefined;
  /**
   * The new layer (or rebuilt root): where it is on the ISO, its size, its squashfs compressor and level, and why
   * (which kernels of the base can mount it, or that the base's own was kept). No compression for the payload tar of
   * an installer medium.
   */
  layer?:
    | {
        isoPath: string;
        bytes: number;
        compression?: string | undefined;
        level?: number | undefined;
        compressionReason?: string | undefined;
      }
    | undefined;
  /** subiquity bases: each install source path and the layer install-sources.yaml now names (unpacked bytes). */
  installSources?: { from: string; to: string; size: number }[] | undefined;
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

/** One variant of a variants run: its name, and its build's report or the reason it never built. */
export interface VariantResult {
  name: string;
  ok: boolean;
  /** This variant's own exit code (0, 1 or 2: see the README's table). */
  exitCode: number;
  report?: BuildReport | undefined;
  error?: { message: string; hint?: string | undefined } | undefined;
}

export interface VariantsReport {
  ok: boolean;
  variants: VariantResult[];
  seconds: number;
}

/**
 * Build variants one after another in this process: a variant that fails (bad keys, a failed build or verification)
 * does not stop the others; an interrupt stops the run. They share the base's inspection (this process), the engine
 * install and the image archives (the caches under cacheDir, keyed by content).
 */
export async function buildVariants(
  variants: readonly { name: string; config: () => BuildConfig }[],
  o: BuildOptions & { onVariant?: (name: string, index: number) => void } = {},
): Promise<VariantsReport> {
  const t0 = performance.now();
  const results: VariantResult[] = [];
  for (const [i, v] of variants.entries()) {
    o.signal?.throwIfAborted();
    o.onVariant?.(v.name, i);
    try {
      const report = await build(v.config(), o);
      results.push({ name: v.name, ok: report.ok, exitCode: report.ok ? ExitCode.ok : ExitCode.failed, report });
    } catch (e) {
      if (o.signal?.aborted) throw e;
      const error = e instanceof Error ? { message: e.message, hint: (e as { hint?: string }).hint } : { message: String(e) };
      results.push({ name: v.name, ok: false, exitCode: isRemasterError(e) ? e.exitCode : ExitCode.failed, report: reportOf(e), error });
    }
  }
  return { ok: results.every((r) => r.ok), variants: results, seconds: Math.round((performance.now() - t0) / 100) / 10 };
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
      target: f.target,
      mode: f.root?.mode,
      layer: f.layer && {
        isoPath: f.layer.isoPath,
        bytes: f.layer.bytes,
        compression: f.layer.compression?.compression,
        level: f.layer.compression?.level,
        compressionReason: f.layer.compression?.reason,
      },
      installSources: f.sourceLayers,
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

// --- remaster packages fetch -------------------------------------------------------------------------------------

export interface FetchPackagesOptions {
  iso: string;
  engine: Engine;
  outDir: string;
  compression?: Compression;
  extraPackages?: string[];
  /** A netinst or DVD base: the mirror the engine's packages come from. */
  mirror?: string;
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

/** The stages of `remaster packages fetch`: open the base's root, download into it, copy out. */
export const fetchStages = [inspect, rootfs, fetchDebs] as const;

export async function fetchPackages(o: FetchPackagesOptions): Promise<FetchPackagesResult> {
  requireRoot('remaster packages fetch');
  // A build config without images: only the stages that open the root run.
  const config = toBuildConfig(
    {
      iso: o.iso,
      out: o.outDir,
      engine: o.engine,
      compression: o.compression,
      extraPackages: o.extraPackages,
      mirror: o.mirror,
      cacheDir: o.cacheDir,
      rootfsMode: 'layer',
      verify: 'none',
      resume: false,
    },
    process.env,
    { waive: ['images'] },
  );
  const ws = new Workspace(join(o.cacheDir, 'work', 'packages-fetch'));
  const ctx = newContext(config, ws, o.signal ?? new AbortController().signal);
  await ws.open();
  try {
    await runStages(ctx, fetchStages, { renderer: o.renderer ?? 'plain', signal: ctx.signal, verbose: o.verbose });
  } finally {
    await ws.remove();
  }
  return { dir: config.out, debs: ctx.facts.installedPackages ?? [], architecture: ctx.facts.architecture ?? 'amd64' };
}
