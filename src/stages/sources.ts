// Sources (subiquity bases): what an installation copies gets the payload. subiquity installs the source named in
// casper/install-sources.yaml, and curtin mounts that source's own chain (every dotted prefix of its path), not the
// live chain: the live and installer layers carry their own dpkg status, so a layer built for the live session is
// wrong on an installed system. Each source's chain gets its own layer, named into that chain
// (a.b.remaster.squashfs: curtin's chain for it is a, a.b, a.b.remaster), with the engine installed against that
// chain and the payload copied from the build's layer; install-sources.yaml points every path at it.
//
// Work is shared where it can be: a chain's layer is reused for another chain when the layers that differ between
// the two touch none of the layer's files (same package state, nothing shadowed), and the engine cache keys each chain
// by its own layers. Identical layers are one file on the medium (xorriso stores a file mapped twice once).
import { lstat, mkdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { run } from '../exec/run.js';
import { curtinChain, INSTALL_SOURCES, rewriteInstallSources, sourceLayerName, sourcePaths } from '../iso/install-sources.js';
import { readIsoTexts } from '../iso/xorriso.js';
import { type BuildContext, need, type Stage } from '../pipeline/context.js';
import { installEngine } from '../pipeline/engine-install.js';
import { type ChainMember, isoMember, mountChain, nonDirEntries } from '../rootfs/chain.js';
import { RootLayer } from '../rootfs/layer.js';
import { MountStack } from '../rootfs/mounts.js';
import { mksquashfs, readSuperblock, squashLevel } from '../rootfs/squashfs.js';
import { mib } from '../util/format.js';
import { linkOrCopy } from '../util/fs.js';

/** One chain's layer: the file, the chain it was built on, and the non-directory entries it holds. */
interface ChainLayer {
  chain: string[];
  file: string;
  entries: Set<string>;
  /** How it came to be, for the output. */
  how: string;
}

export const sources: Stage = {
  title: 'Install sources: a layer over each chain an installation copies',
  skip: (ctx) =>
    ctx.facts.target === 'live'
      ? 'target live: installed systems are not changed'
      : subiquity(ctx)
        ? undefined
        : 'the base has no subiquity install sources',
  async run(ctx, task) {
    const base = need(ctx.facts.base, 'base ISO');
    const main = need(ctx.facts.root, 'root layer');
    const mainLayer = need(ctx.facts.layer, 'new layer');
    const route = need(subiquity(ctx), 'subiquity route');
    const list = need(route.sources, 'install sources');
    if (main.mode !== 'layer') {
      throw new UsageError('rootfsMode rebuild: a subiquity base installs chains of layers, and rebuild mode replaces one root image', {
        hint: 'leave --rootfs-mode out',
      });
    }
    await main.unmount();
    const written = JSON.parse(await readFile(ctx.ws.payloadWritten, 'utf8')) as { files: string[] };
    const built: ChainLayer[] = [
      {
        chain: main.base.rootfs.map((l) => l.path),
        file: mainLayer.file,
        entries: await nonDirEntries(main.root),
        how: `the build's layer`,
      },
    ];
    const renamed = new Map<string, { name: string; size: number }>();
    const seen = new Map<string, Set<string>>();
    const lines: string[] = [];
    for (const [i, path] of sourcePaths(list).entries()) {
      const chain = curtinChain(path);
      const layer =
        built.find((b) => sameChain(b.chain, chain)) ??
        (await shareable(ctx, built, chain, seen)) ??
        (await buildChainLayer(ctx, chain, i, written.files, main.root, (l) => (task.output = `${path}: ${l}`)));
      if (!built.includes(layer)) built.push(layer);
      const isoPath = `/casper/${sourceLayerName(path)}`;
      ctx.facts.isoMap.set(isoPath, layer.file);
      const size = await unpackedBytes(ctx, [...chain.map((p) => member(ctx, p)), { file: layer.file }], i);
      renamed.set(path, { name: basename(isoPath), size });
      lines.push(`${basename(isoPath)} (${layer.how}, ${mib((await stat(layer.file)).size)})`);
    }
    const [text] = [...(await readIsoTexts(base.iso, [INSTALL_SOURCES], { signal: ctx.signal })).values()];
    const host = ctx.ws.path('install-sources.yaml');
    await writeFile(host, rewriteInstallSources(text ?? '', renamed));
    ctx.facts.isoMap.set(INSTALL_SOURCES, host);
    ctx.facts.sourceLayers = [...renamed].map(([from, to]) => ({ from, to: to.name, size: to.size }));
    task.output = `install-sources.yaml points at ${lines.join(', ')}`;
  },
};

function subiquity(ctx: BuildContext) {
  return ctx.facts.base?.installers.find((i) => i.kind === 'subiquity' && i.supported);
}

function sameChain(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

/** A chain member of the base: where its bytes are in the ISO. */
function member(ctx: BuildContext, isoPath: string): ChainMember {
  const base = need(ctx.facts.base, 'base ISO');
  const m = isoMember(base.iso, base.files, isoPath);
  if (!m) throw new Error(`internal: ${isoPath} is not on the medium (inspect checks every chain)`);
  return m;
}

/** A base member's non-directory entries, listed once per build (several chains can differ by the same member). */
async function memberEntries(ctx: BuildContext, isoPath: string, seen: Map<string, Set<string>>): Promise<Set<string>> {
  const known = seen.get(isoPath);
  if (known) return known;
  const mounts = new MountStack({ signal: ctx.signal });
  const dir = ctx.ws.path('sources', 'probe');
  try {
    const entries = await nonDirEntries(await mountChain(mounts, dir, [member(ctx, isoPath)]));
    seen.set(isoPath, entries);
    return entries;
  } finally {
    await mounts.unwind();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A layer built on another chain that is right on this one too: no file it holds is touched by a layer that is in
 * one chain and not the other (so the package state it was installed against, and everything it replaces, is the
 * same here).
 */
async function shareable(
  ctx: BuildContext,
  built: readonly ChainLayer[],
  chain: readonly string[],
  seen: Map<string, Set<string>>,
): Promise<ChainLayer | undefined> {
  for (const b of built) {
    const differing = [...b.chain.filter((p) => !chain.includes(p)), ...chain.filter((p) => !b.chain.includes(p))];
    let clash = false;
    for (const p of differing) {
      clash = [...(await memberEntries(ctx, p, seen))].some((e) => b.entries.has(e));
      if (clash) break;
    }
    if (!clash)
      return {
        ...b,
        chain: [...chain],
        how: `shared with ${basename(b.chain.at(-1) ?? '')}'s: the layers between touch none of its files`,
      };
  }
  return undefined;
}

/** The engine installed against this chain, the build's payload copied in, squashed like the build's layer. */
async function buildChainLayer(
  ctx: BuildContext,
  chain: readonly string[],
  index: number,
  payloadFiles: readonly string[],
  payloadRoot: string,
  say: (line: string) => void,
): Promise<ChainLayer> {
  const base = need(ctx.facts.base, 'base ISO');
  const rootfs = chain.map((p) => {
    const m = member(ctx, p) as { offset: number; bytes: number };
    return { path: p, offset: m.offset, bytes: m.bytes };
  });
  const dir = ctx.ws.path('sources', String(index));
  const layer = new RootLayer(dir, { iso: base.iso, volumeUuid: base.volumeUuid, rootfs }, 'layer', ctx.mounts, ctx.signal);
  await layer.reset();
  const r = await installEngine(ctx, layer, say);
  await layer.unmount();
  await copyPaths(payloadRoot, layer.root, payloadFiles);
  const top = rootfs.at(-1);
  if (!top) throw new Error('internal: empty chain');
  const sb = await readSuperblock(base.iso, top.offset);
  if (!sb) throw new Error(`internal: ${top.path} has no squashfs superblock`);
  // curtin mounts this chain in the live session: the live kernel's choice holds here too (inspect stage).
  const comp = ctx.facts.layerCompression ?? {
    compression: sb.compression,
    level: squashLevel(sb.compression, 'layer', ctx.config.squashfsLevel),
  };
  const file = join(dir, 'layer.squashfs');
  await rm(file, { force: true });
  await mksquashfs(
    {
      source: layer.root,
      target: `${file}.partial`,
      compression: comp.compression,
      blockSize: sb.blockSize,
      level: comp.level,
      sourceDateEpoch: ctx.config.sourceDateEpoch,
    },
    { signal: ctx.signal },
    say,
  );
  await rename(`${file}.partial`, file);
  return {
    chain: [...chain],
    file,
    entries: await nonDirEntries(layer.root),
    how: `engine ${r.cache?.reused ? 'from the cache' : 'installed'} against this chain`,
  };
}

/** Copy files (relative paths) from one root to another: links as links, files hard-linked where possible. */
async function copyPaths(from: string, to: string, paths: readonly string[]): Promise<void> {
  for (const p of paths) {
    const src = join(from, p);
    const st = await lstat(src).catch(() => undefined);
    if (!st) continue;
    const dst = join(to, p);
    await mkdir(dirname(dst), { recursive: true, mode: 0o755 });
    await rm(dst, { force: true, recursive: true });
    if (st.isSymbolicLink()) await symlink(await readlink(src), dst);
    else await linkOrCopy(src, dst);
  }
}

/** What the chain occupies unpacked (install-sources.yaml's size: subiquity checks the disk against it). */
async function unpackedBytes(ctx: BuildContext, members: readonly ChainMember[], index: number): Promise<number> {
  const mounts = new MountStack({ signal: ctx.signal });
  const dir = ctx.ws.path('sources', `size-${index}`);
  try {
    const root = await mountChain(mounts, dir, members);
    const du = await run('du', ['-s', '--block-size=1', root], { signal: ctx.signal });
    return Number(du.stdout.trim().split(/\s+/)[0]);
  } finally {
    await mounts.unwind();
    await rm(dir, { recursive: true, force: true });
  }
}
