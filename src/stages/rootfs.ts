// Rootfs: open the base root for changes: overlay on the read-only squashfs (layer) or a full extract (rebuild).
import { UsageError } from '../errors.js';
import type { PackagePool } from '../iso/inspect.js';
import { ISO_SECTOR } from '../iso/probe.js';
import { type BuildContext, need, type Stage } from '../pipeline/context.js';
import { baseIdentity } from '../pipeline/resume.js';
import { runInRoot } from '../rootfs/chroot.js';
import { ensureInstallRoot } from '../rootfs/install-root.js';
import { type BaseRoot, type LayerMode, RootLayer } from '../rootfs/layer.js';

/**
 * Layer mode works on every base remaster accepts, because each stacks squashfs files: live-boot (every
 * /live/*.squashfs, sorted, or filesystem.module), casper without LAYERFS_PATH (every /casper/*.squashfs, sorted)
 * and layered casper (the dotted chain LAYERFS_PATH names, which our layer extends). Rebuild only on request.
 */
export function chooseMode(ctx: Pick<BuildContext, 'config'>): LayerMode {
  return ctx.config.rootfsMode === 'rebuild' ? 'rebuild' : 'layer';
}

/** The base as the root layer sees it: the ISO file and the byte ranges of its root squashfs layers. */
export function baseRoot(base: {
  iso: string;
  volumeUuid?: string | undefined;
  rootfs: readonly { path: string; lba: number; bytes: number }[];
}): BaseRoot {
  return {
    iso: base.iso,
    volumeUuid: base.volumeUuid,
    rootfs: base.rootfs.map((l) => ({ path: l.path, offset: l.lba * ISO_SECTOR, bytes: l.bytes })),
  };
}

/**
 * A netinst or DVD image has no live root: the root its installer installs stands in, made once per pool by
 * debootstrap from the medium (see install-root.ts), as a single squashfs layer.
 */
async function installedBaseRoot(ctx: BuildContext, pool: PackagePool, say: (line: string) => void): Promise<BaseRoot> {
  const c = ctx.config;
  if (c.rootfsMode === 'rebuild') {
    throw new UsageError(`rootfsMode rebuild: ${c.iso} is a Debian installer image with no root filesystem to rebuild`, {
      hint: 'leave --rootfs-mode out: the installed systems get the engine from .debs on the medium',
    });
  }
  const r = await ensureInstallRoot({
    iso: c.iso,
    suite: pool.suite,
    release: pool.release,
    mirror: c.mirror,
    cacheDir: c.cacheDir,
    signal: ctx.signal,
    onLine: say,
  });
  say(`${pool.suite} as d-i installs it from the medium: ${r.built ? 'made' : 'reused from the cache'} (${r.key})`);
  return { iso: r.file, rootfs: [{ path: `debootstrap ${pool.suite} from the medium`, offset: 0, bytes: r.bytes }] };
}

export const rootfs: Stage = {
  title: 'Open the root filesystem',
  async run(ctx, task) {
    const base = need(ctx.facts.base, 'base ISO');
    const mode = chooseMode(ctx);
    const say = (line: string) => {
      task.output = line;
    };
    const chain = ctx.facts.chain ?? base.rootfs;
    const br = base.pool ? await installedBaseRoot(ctx, base.pool, say) : baseRoot({ ...base, rootfs: chain });
    const root = new RootLayer(ctx.ws.root, br, mode, ctx.mounts, ctx.signal);
    ctx.facts.root = root;
    // The layer outlives a run (mounts never do): an earlier run's on the same base is kept, unmounted (even a
    // mount would mark its upper directory), and later stages decide by their own records what is still right.
    const resume = ctx.resume;
    const stamp =
      resume?.stamp(
        'rootfs',
        { base: await baseIdentity(ctx), mode, mirror: base.pool ? ctx.config.mirror : undefined, chain: chain.map((l) => l.path) },
        [],
      ) ?? '';
    const rec = resume && root.exists() ? await resume.reusable('rootfs', stamp) : undefined;
    const recorded = (rec?.facts as { architecture?: string } | undefined)?.architecture;
    if (recorded) {
      ctx.facts.architecture = recorded;
      task.output = `${mode} mode: the layer of the last run is kept (${recorded})`;
      return;
    }
    await resume?.begin('rootfs');
    await root.reset((line) => {
      task.output = line;
    });
    await root.mount();
    const arch = await runInRoot(root.merged, ['dpkg', '--print-architecture'], { signal: ctx.signal }).catch(() => undefined);
    ctx.facts.architecture = arch?.stdout.trim() || 'amd64';
    await resume?.done('rootfs', stamp, { architecture: ctx.facts.architecture });
    task.output = base.pool
      ? `the root d-i installs from the medium's pool (${base.pool.suite}), read-only; the engine is resolved against it`
      : mode === 'layer'
        ? `layer mode: ${base.rootfs.length} base layer(s) read-only, changes go to a new layer`
        : `rebuild mode: the whole root is extracted and rebuilt`;
  },
};
