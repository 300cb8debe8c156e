// The engine install into one root (the build's, or another chain's): apt or the offline .debs in a chroot, the
// engine's configuration, the engine cache. The engine stage and the sources stage both use it.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RemasterError, UsageError } from '../errors.js';
import type { RunOptions } from '../exec/run.js';
import { type BuildContext, need } from './context.js';
import type { RootLayer } from '../rootfs/layer.js';
import { installsFromMedium } from '../iso/installers.js';
import { withChroot } from '../rootfs/chroot.js';
import { acquireLock, cacheLockFile, type HeldLock, withLock } from '../util/lock.js';
import { cachedEngine, type EngineEntry, engineCacheKey, restoreEngine, storeEngine } from '../rootfs/engine-cache.js';
import { stripOverlayXattrs } from '../rootfs/xattrs.js';
import {
  APT_ARCHIVES,
  APT_LISTS,
  aptCacheDirs,
  aptInstall,
  aptInstallOffline,
  aptResolve,
  debsIn,
  dropLeftovers,
  engineBinaries,
  engineCompanions,
  OFFLINE_DEBS,
  packagesFor,
} from '../rootfs/packages.js';
import { engineConfigFiles } from '../units/render.js';
import { sha256File } from '../util/hash.js';
import { writeRootFiles } from '../rootfs/files.js';

/** What one engine install did: the packages, the cache's part in it, and the .debs apt used (netinst bases). */
export interface EngineInstall {
  installedPackages: string[];
  cache?: { key: string; reused: boolean } | undefined;
  downloads?: { downloaded: number; alreadyCached: number } | undefined;
  debs: string[];
}

/**
 * Install the engine into one root (the build's, or another chain's, e.g. a subiquity install source): apt from the
 * root's own sources or the offline .debs, the engine's configuration, the layer cleaned; in layer mode cached by
 * the root's identity (its chain of layers) and the exact packages.
 */
export async function installEngine(
  ctx: BuildContext,
  layer: RootLayer,
  say: (line: string) => void,
  setTitle: (title: string) => void = () => {},
): Promise<EngineInstall> {
  const c = ctx.config;
  // A layer kept from an earlier run holds that run's engine and payload (or half of them): start clean.
  if (!layer.isPristine()) {
    say('the kept layer holds an earlier install: starting from a new one');
    await layer.reset(say);
  }
  // A kept layer is not mounted (mounts never outlive a run).
  if (!layer.mounted) await layer.mount();
  await layer.touch('engine');
  const pkgs = packagesFor(c.engine, c.compression, c.extraPackages, c.imageStore);
  const medium = ctx.facts.base !== undefined && installsFromMedium(ctx.facts.base, ctx.facts.target);
  setTitle(`Install the container engine (${pkgs.join(' ')})`);
  const r: InstallRun = {
    ctx,
    layer,
    pkgs,
    say,
    // SOURCE_DATE_EPOCH reaches the package scripts in the root (scripts/in-root passes nothing else of ours).
    io: { signal: ctx.signal, env: { SOURCE_DATE_EPOCH: c.sourceDateEpoch?.toString() } },
    // Layer mode: the install is cached per base and exactly resolved package set (see engine-cache.ts).
    // A build whose installed systems get the .debs from the medium needs them: the install runs (apt keeps them in
    // its cache). So does every chain but the build's own root (only that one's .debs go on the medium).
    identity:
      layer.mode === 'layer' && c.engineCache && !(medium && layer === ctx.facts.root)
        ? {
            base: await layer.contentIdentity(),
            arch: ctx.facts.architecture,
            engine: c.engine,
            pkgs,
            store: c.imageStore,
            sde: c.sourceDateEpoch,
          }
        : undefined,
    locks: [],
  };
  try {
    const { key, cached } = c.packages ? await installOffline(r, c.packages, setTitle) : await installOnline(r);
    if (key && cached) {
      // The layer so far holds only what apt's list update touched: replace it with the cached install.
      await layer.reset();
      await layer.touch('engine');
      await restoreEngine(c.cacheDir, key, layer.root, ctx.signal);
      say(`engine install reused from the cache (${key.slice(0, 12)}, ${cached.tree.files} files): ${cached.installedPackages.join(' ')}`);
      return { installedPackages: cached.installedPackages, cache: { key, reused: true }, downloads: r.downloads, debs: [] };
    }
    await finishInstall(r, key);
    const debs = medium && layer === ctx.facts.root ? (c.packages ? await debPaths(c.packages) : await resolvedDebs(r)) : [];
    return {
      installedPackages: need(r.installed, 'installed packages'),
      cache: key ? { key, reused: false } : undefined,
      downloads: r.downloads,
      debs,
    };
  } finally {
    for (const l of r.locks) await l.release();
  }
}

/** One engine install in the making: what it installs, how it reports, what it holds. */
interface InstallRun {
  ctx: BuildContext;
  /** The root the engine goes into. */
  layer: RootLayer;
  pkgs: string[];
  say: (line: string) => void;
  io: RunOptions;
  /** The install's identity for the cache (layer mode with the cache on), before the exact packages are known. */
  identity: Record<string, unknown> | undefined;
  /** Locks to release when the stage ends (the engine key's lock is held until the install is stored). */
  locks: HeldLock[];
  /** What apt resolved and installed (name=version), and the shared archive folder it downloaded them to. */
  resolved?: { packages: string[]; archives: string } | undefined;
  /** What dpkg installed (name=version). */
  installed?: string[] | undefined;
  /** The shared package cache's part: .debs downloaded, and how many it held before. */
  downloads?: { downloaded: number; alreadyCached: number } | undefined;
}

async function debPaths(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => f.endsWith('.deb'))
    .sort()
    .map((f) => join(dir, f));
}

/** apt's file name for a package version: name_version_arch.deb, the epoch's colon written %3a. */
export function debFileNames(nameVersion: string, arch: string): string[] {
  const at = nameVersion.indexOf('=');
  const name = nameVersion.slice(0, at);
  const version = nameVersion.slice(at + 1).replace(':', '%3a');
  return [`${name}_${version}_${arch}.deb`, `${name}_${version}_all.deb`];
}

/** The .deb of every package apt resolved and installed, from the shared archive folder it downloaded them to. */
async function resolvedDebs(r: InstallRun): Promise<string[]> {
  const res = need(r.resolved, 'resolved packages');
  const have = await debsIn(res.archives);
  const arch = r.ctx.facts.architecture ?? 'amd64';
  const out: string[] = [];
  const missing: string[] = [];
  for (const nv of res.packages) {
    const f = debFileNames(nv, arch).find((n) => have.has(n));
    if (f) out.push(join(res.archives, f));
    else missing.push(nv);
  }
  if (missing.length > 0) {
    throw new RemasterError(`apt installed ${missing.join(', ')} but its .deb is not in ${res.archives}`, {
      hint: 'another build cleaned the shared package cache meanwhile: run the build again',
    });
  }
  return out.sort();
}

interface Installed {
  key?: string | undefined;
  cached?: EngineEntry | undefined;
}

/** Builds on one cache wait for each other: an install being made under a key is waited for and copied. */
async function lockEngine(r: InstallRun, key: string): Promise<void> {
  r.locks.push(
    await acquireLock(cacheLockFile(r.ctx.config.cacheDir, `engine-${key}`), {
      signal: r.ctx.signal,
      onWait: r.say,
      what: `the cached engine install ${key.slice(0, 12)}`,
    }),
  );
}

/** From a folder of .debs (remaster packages fetch): dpkg, no network; cached by the .debs' content. */
async function installOffline(r: InstallRun, offline: string, setTitle: (t: string) => void): Promise<Installed> {
  const c = r.ctx.config;
  const debs = (await readdir(offline)).filter((f) => f.endsWith('.deb')).sort();
  if (debs.length === 0)
    throw new UsageError(`package folder ${offline} holds no .deb files`, { hint: 'make it with remaster packages fetch' });
  setTitle(`Install the container engine offline (${debs.length} packages from ${offline})`);
  // By content: the same .debs copied elsewhere are the same install.
  const key =
    r.identity &&
    engineCacheKey({ ...r.identity, debs: await Promise.all(debs.map(async (d) => [d, await sha256File(join(offline, d))])) });
  if (key) await lockEngine(r, key);
  const cached = key ? await cachedEngine(c.cacheDir, key) : undefined;
  if (!cached) {
    r.installed = await withChroot(r.layer.merged, r.io, (s) => aptInstallOffline(s, debs, r.pkgs, r.io, r.say), {
      bind: [{ source: offline, target: OFFLINE_DEBS }],
    });
  }
  return { key, cached };
}

/**
 * What apt resolved in this process, by install identity and packages: the builds of one run (variants) on one base
 * ask apt once. Only a cache hit uses it: a miss runs apt as usual.
 */
const resolvedInRun = new Map<string, { pkgs: string[]; resolved: string[]; archives: string; at: number }>();
/** A long-lived process (a library user building all day) asks apt again after this: the mirror moves on. */
const RESOLVED_FOR_MS = 60 * 60 * 1000;

/** With apt from the base's sources, the shared package caches bound in; cached by what apt resolves. */
async function installOnline(r: InstallRun): Promise<Installed> {
  const c = r.ctx.config;
  const root = r.layer.merged;
  const asked = r.identity && JSON.stringify({ identity: r.identity, pkgs: r.pkgs, cacheDir: c.cacheDir });
  const remembered = asked ? resolvedInRun.get(asked) : undefined;
  const known = remembered && Date.now() - remembered.at < RESOLVED_FOR_MS ? remembered : undefined;
  if (r.identity && known) {
    const key = engineCacheKey({ ...r.identity, resolved: known.resolved });
    await lockEngine(r, key);
    const cached = await cachedEngine(c.cacheDir, key);
    if (cached) {
      r.pkgs = known.pkgs;
      r.resolved = { packages: known.resolved, archives: known.archives };
      r.say('apt resolved this base and package set earlier in this run: no apt run');
      return { key, cached };
    }
    // Gone from the cache meanwhile: apt runs below and takes the key's lock again.
    await r.locks.pop()?.release();
  }
  const cache = await aptCacheDirs(c.cacheDir, root, r.ctx.facts.architecture ?? 'amd64');
  const out: Installed = {};
  // The apt folders are shared by every build on this cache: one apt at a time (apt's own lock would fail).
  const lock = { signal: r.ctx.signal, onWait: r.say, what: `the apt cache ${dirname(cache.archives)}` };
  await withLock(cacheLockFile(c.cacheDir, 'apt'), lock, async () => {
    const before = await debsIn(cache.archives);
    const installed = await withChroot(
      root,
      r.io,
      async (s) => {
        const { pkgs, resolved } = await aptResolve(s, r.pkgs, r.io, r.say, engineCompanions[c.engine]);
        r.pkgs = pkgs;
        r.resolved = { packages: resolved, archives: cache.archives };
        if (asked) resolvedInRun.set(asked, { pkgs, resolved, archives: cache.archives, at: Date.now() });
        out.key = r.identity && engineCacheKey({ ...r.identity, resolved });
        // Held until the install is stored.
        if (out.key) await lockEngine(r, out.key);
        out.cached = out.key ? await cachedEngine(c.cacheDir, out.key) : undefined;
        return out.cached ? undefined : aptInstall(s, r.pkgs, r.io, r.say);
      },
      {
        bind: [
          { source: cache.archives, target: APT_ARCHIVES, writable: true },
          { source: cache.lists, target: APT_LISTS, writable: true },
        ],
      },
    );
    if (installed) r.installed = installed;
    const after = await debsIn(cache.archives);
    const downloaded = [...after].filter((d) => !before.has(d)).length;
    r.downloads = { downloaded, alreadyCached: before.size };
    r.say(`package cache ${cache.archives}: ${downloaded} .deb downloaded, ${before.size} were cached`);
  });
  return out;
}

/** After apt or dpkg: check the binaries, write the engine's configuration, clean the layer, store it in the cache. */
async function finishInstall(r: InstallRun, key: string | undefined): Promise<void> {
  const { ctx } = r;
  const c = ctx.config;
  const layer = r.layer;
  const root = layer.merged;
  const installedPackages = need(r.installed, 'installed packages');
  // Roots without merged /usr keep some of these in /sbin or /bin.
  const missing = engineBinaries[c.engine].filter((b) => !existsSync(join(root, b)) && !existsSync(join(root, b.replace(/^usr\//, ''))));
  if (missing.length > 0) {
    throw new RemasterError(`${c.engine} was installed but ${missing.join(', ')} is missing from the root`, {
      hint: 'the base release packages the engine differently; report this with the base ISO name',
    });
  }
  const existingConf = c.engine === 'podman' ? 'etc/containers/storage.conf' : 'etc/docker/daemon.json';
  const existing = await readFile(join(root, existingConf), 'utf8').catch(() => undefined);
  await writeRootFiles(root, engineConfigFiles(c.engine, existing, c.imageStore === 'ready'));
  await layer.unmount();
  await dropLeftovers(layer.root, layer.mode === 'layer');
  if (layer.mode === 'layer') await stripOverlayXattrs(layer.root, { signal: ctx.signal });
  if (key) {
    r.say('storing the engine install in the cache');
    await storeEngine(c.cacheDir, key, layer.root, installedPackages, ctx.signal);
  }
  r.say(installedPackages.join(' '));
}
