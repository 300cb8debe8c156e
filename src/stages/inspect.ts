// Inspect: learn the base's flavor, boot setup, root layers and installers; settle the target; refuse what remaster
// cannot handle, before any work.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { parseAutoinstall } from '../installer/autoinstall.js';
import { chainLayers, type InspectResult, inspectIso } from '../iso/inspect.js';
import { curtinChain, sourcePaths } from '../iso/install-sources.js';
import { reachedDi } from '../iso/installers.js';
import { ISO_SECTOR } from '../iso/probe.js';
import type { Stage } from '../pipeline/context.js';
import { chooseLayerCompression, readKernelConfigs } from '../rootfs/kernel-config.js';
import type { Target } from '../types.js';
import { fileIdentity } from '../util/fs.js';

/**
 * The target a build gets: the one asked for when the base allows it (else a usage error), or by default both where
 * an installer route exists (and the payload suits installed systems), the live session otherwise.
 */
/** Installer routes that put a ready store on the installed disk: d-i's live-installer hook, Calamares' unpackfs. */
export const READY_STORE_ROUTES: ReadonlySet<string> = new Set(['d-i-live-installer', 'calamares']);

export function resolveTarget(
  base: Pick<InspectResult, 'iso' | 'targets'> & { installers?: InspectResult['installers'] },
  asked: Target | undefined,
  liveOnlyPayload: boolean,
): Target {
  const { live, installed } = base.targets;
  // An installer whose files no route understands: a default live-only build would ship servers without the payload.
  const unknown = asked === 'live' ? undefined : base.installers?.find((i) => i.unknownLayout);
  if (unknown) {
    throw new UsageError(`${base.iso}: unknown layout for ${unknown.kind}: ${unknown.route}`, {
      hint: 'remaster cannot put the payload on systems installed from this ISO; pass --target live to build the live session only',
    });
  }
  if (asked === undefined) {
    if (!live.reachable) return 'installed';
    return installed.reachable && !liveOnlyPayload ? 'both' : 'live';
  }
  if ((asked === 'live' || asked === 'both') && !live.reachable) {
    throw new UsageError(`target ${asked}: ${base.iso} has no live session to put the payload in (${live.why})`, {
      hint: 'use --target installed',
    });
  }
  if ((asked === 'installed' || asked === 'both') && !installed.reachable) {
    throw new UsageError(`target ${asked}: remaster cannot reach systems installed from ${base.iso}: ${installed.why}`, {
      hint: 'use --target live (the live session gets the payload; an installation from this ISO will not)',
    });
  }
  return asked;
}

/** Inspections made by this process, by the file's identity: builds of one run (variants) read a base once. */
const inspected = new Map<string, InspectResult>();

async function inspectOnce(iso: string, signal: AbortSignal): Promise<InspectResult> {
  const key = await fileIdentity(iso);
  const seen = inspected.get(key);
  // A copy: a build may add to what it was given.
  if (seen) return structuredClone(seen);
  const base = await inspectIso(iso, { signal });
  if (inspected.size >= 4) inspected.clear();
  inspected.set(key, structuredClone(base));
  return base;
}

export const inspect: Stage = {
  title: 'Inspect the base ISO',
  async run(ctx, task) {
    const c = ctx.config;
    const base = await inspectOnce(c.iso, ctx.signal);
    if (!base.boot.bios && !base.boot.uefi) {
      throw new UsageError(`${c.iso} has no El Torito boot entry and no EFI partition: it cannot boot`, {
        hint: 'use a bootable live ISO as the base',
      });
    }
    ctx.facts.base = base;
    // A ready store reaches installed disks only through routes that copy it there (the d-i hook, Calamares' unpackfs).
    const ready = c.imageStore === 'ready';
    const storeRoutes = base.installers.filter((i) => i.supported).map((i) => i.kind);
    const target = resolveTarget(base, c.target, ready && !storeRoutes.every((k) => READY_STORE_ROUTES.has(k)));
    ctx.facts.target = target;
    if (base.pool && c.imageStore === 'ready') {
      throw new UsageError(
        `imageStore ready: ${c.iso} is a Debian installer image, and a ready store is a squashfs the live session mounts`,
        {
          hint: 'use --image-store load: the installed systems load the archives at first boot',
        },
      );
    }
    const sub = base.installers.find((i) => i.kind === 'subiquity' && i.supported);
    const [defaultPath] = sourcePaths(sub?.sources ?? []);
    // Target installed on a subiquity base: the build's own root is the default install source's chain (the live
    // chain gets nothing); the other sources get theirs in the sources stage.
    ctx.facts.chain = target === 'installed' && defaultPath ? await chainLayers(base, curtinChain(defaultPath)) : base.rootfs;
    if (sub && target !== 'live' && c.imageStore === 'ready') {
      throw new UsageError(
        `imageStore ready: ${c.iso} installs through subiquity, and a ready store is a squashfs only the live session mounts`,
        {
          hint: 'use --image-store load, or --target live',
        },
      );
    }
    const other = storeRoutes.find((k) => !READY_STORE_ROUTES.has(k));
    if (ready && target !== 'live' && other) {
      throw new UsageError(`imageStore ready: ${c.iso} installs through ${other}, which cannot put a ready store on the disk`, {
        hint: 'use --image-store load (installed systems load the archives at first boot), or --target live',
      });
    }
    // The kernel that boots the ISO is the live root's: it mounts every squashfs the build adds (curtin mounts the
    // install sources' chains in the live session too), so its configs decide what those are compressed with.
    const top = ctx.facts.chain.at(-1);
    if (top) {
      const configs = await readKernelConfigs(
        base.iso,
        base.rootfs.map((l) => ({ offset: l.lba * ISO_SECTOR })),
        { signal: ctx.signal },
      );
      ctx.facts.layerCompression = chooseLayerCompression(top.compression, configs, c.squashfsLevel);
    }
    const di = reachedDi(base.installers);
    if (c.preseed !== undefined && (target === 'live' || !di)) {
      throw new UsageError(
        `preseed: ${c.iso} ${di ? `is built for target ${target}` : 'carries no Debian installer (d-i) remaster installs through'}, so the answers in ${c.preseed} would go nowhere`,
        {
          hint: di ? 'add --target installed or both' : 'leave --preseed out for this base',
        },
      );
    }
    if (c.autoinstall !== undefined && (target === 'live' || !sub)) {
      throw new UsageError(
        `autoinstall: ${c.iso} ${sub ? `is built for target ${target}` : 'has no subiquity installer remaster installs through'}, so ${c.autoinstall} would go nowhere`,
        {
          hint: sub
            ? 'add --target installed or both'
            : 'leave --autoinstall out for this base (Ubiquity reads preseed seeds, not autoinstall)',
        },
      );
    }
    if (c.autoinstallUnattended && c.autoinstall === undefined) {
      throw new UsageError('autoinstallUnattended: there is no autoinstall file to run unattended', {
        hint: 'add --autoinstall <file>',
      });
    }
    if (c.autoinstall !== undefined) {
      const doc = parseAutoinstall(await readFile(c.autoinstall, 'utf8'));
      if (!doc.ok)
        throw new UsageError(`autoinstall: ${c.autoinstall}: ${doc.why}`, {
          hint: 'see https://canonical-subiquity.readthedocs-hosted.com/en/latest/reference/autoinstall-reference.html',
        });
    }
    if (c.verifyInstall && target === 'live') {
      throw new UsageError('verifyInstall: the build targets the live session only, so an installed system would have nothing to show', {
        hint: 'add --target both (or installed), or leave --verify-install out',
      });
    }
    const boot = [base.boot.bios && 'BIOS', base.boot.uefi && 'UEFI', base.boot.hybrid && 'hybrid MBR', base.boot.gpt && 'GPT']
      .filter(Boolean)
      .join(' + ');
    const layers = base.rootfs.map((r) => `${r.path} (${r.compression})`).join(', ');
    const routes =
      target === 'live'
        ? ''
        : ` via ${base.installers
            .filter((i) => i.supported)
            .map((i) => i.kind)
            .join(', ')}`;
    const lc = ctx.facts.layerCompression;
    const added = lc ? `; squashfs added: ${lc.compression}${lc.level ? ` level ${lc.level}` : ''} (${lc.reason})` : '';
    task.output = `${base.flavor}; boot: ${boot}; root: ${layers}; target: ${target}${routes}${added}`;
  },
};
