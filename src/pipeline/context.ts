// What stages share: the frozen config, the workspace, and facts stages add as they learn them.
import type { PayloadManifest } from '../images/manifest.js';
import type { LayerChanges } from '../installer/layer-changes.js';
import type { Target } from '../types.js';
import type { VerifyOutcome } from '../verify/verdict.js';
import type { InspectResult, RootfsLayer } from '../iso/inspect.js';
import type { LayerCompression } from '../rootfs/kernel-config.js';
import type { RootLayer } from '../rootfs/layer.js';
import type { MountStack } from '../rootfs/mounts.js';
import type { ResumeStore } from './resume.js';
import type { Workspace } from './workspace.js';
import type { BuildConfig } from '../config/load.js';

export interface StageTiming {
  stage: string;
  seconds: number;
  skipped?: string;
}

export interface Facts {
  base?: InspectResult;
  /** What gets the payload: decided by the inspect stage from --target and what the base allows. */
  target?: Target;
  /** What a plain copy of the layer onto an installed base would have to delete first (installer stage). */
  layerChanges?: LayerChanges;
  /** Architecture of the base root (dpkg), for image platforms. */
  architecture?: string;
  manifest?: PayloadManifest;
  /**
   * What the squashfs files the build adds (layers, the ready store) are compressed with and why: from the kernel
   * configs of the base root (inspect stage). A rebuilt root keeps the base's compressor.
   */
  layerCompression?: LayerCompression;
  /**
   * The new layer's ISO path, e.g. /live/remaster.squashfs, its host file, and how it was compressed (a squashfs;
   * none for the payload tar a netinst medium carries instead).
   */
  layer?: { isoPath: string; file: string; bytes: number; compression?: LayerCompression | undefined };
  /** Files written into the ISO: ISO path -> host file. */
  isoMap: Map<string, string>;
  /**
   * The base layers the build's root stacks, bottom first: the live chain, or for target installed on a subiquity
   * base the default install source's chain (inspect stage).
   */
  chain?: RootfsLayer[];
  /** subiquity bases: each install source path and the layer install-sources.yaml now names, with its unpacked size. */
  sourceLayers?: { from: string; to: string; size: number }[];
  /** The root being changed (opened by the rootfs stage): its mode, folders, mounts and base identity. */
  root?: RootLayer;
  installedPackages?: string[];
  /** A netinst or DVD base: the .deb files (host paths) its installer installs into /target. */
  debs?: string[];
  output?: { path: string; bytes: number; sha256: string };
  verify: VerifyOutcome[];
  /** What the shared caches under cacheDir saved this build. */
  cache: CacheFacts;
}

export interface CacheFacts {
  /** Per image: true = archive reused from the cache, false = compressed and stored, undefined = not cacheable. */
  images: { ref: string; cached: boolean | undefined }[];
  /** .deb files the engine install fetched into the shared package cache, and how many it held before. */
  debs?: { downloaded: number; alreadyCached: number } | undefined;
  /** Layer mode: the engine install's cache key, and whether it came from the cache (else it was stored). */
  engine?: { key: string; reused: boolean } | undefined;
}

export interface BuildContext {
  readonly config: Readonly<BuildConfig>;
  readonly ws: Workspace;
  readonly signal: AbortSignal;
  readonly facts: Facts;
  readonly timings: StageTiming[];
  /** Mounts opened by the rootfs stage; the runner unwinds them on every exit path. */
  readonly mounts: MountStack;
  /** The last run's stage records (build only): unchanged stages are skipped. */
  readonly resume?: ResumeStore | undefined;
}

/** The subset of a listr2 task a stage uses: progress lines and a changing title. */
export interface StageTask {
  output: string;
  title: string;
}

/** How a stage with durable output in the workspace is skipped on a rerun whose inputs did not change. */
export interface StageResume {
  /** The record's name (titles change while a stage runs). */
  readonly key: string;
  /** Records of earlier stages whose output this one builds on: their run ids are part of its stamp. */
  readonly after: readonly string[];
  /** What decides the output (a config subset, the base's identity, source files' identities). JSON; never a secret. */
  inputs(ctx: BuildContext): Promise<unknown>;
  /** After a run: the facts to restore on a skip, and the output files (relative to the workspace). */
  save(ctx: BuildContext): { facts: unknown; files: string[] };
  restore(ctx: BuildContext, facts: unknown): void;
}

export interface Stage {
  readonly title: string;
  /** A reason to skip, or undefined to run. */
  skip?(ctx: BuildContext): string | undefined;
  readonly resume?: StageResume;
  run(ctx: BuildContext, task: StageTask): Promise<void>;
}

export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`internal: ${what} is not known yet (stage order?)`);
  return value;
}
