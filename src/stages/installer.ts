// Installer: the routes by which systems installed from the ISO get the layer. For d-i's live-installer, a segment
// appended to every d-i initrd on the medium (a hook run right after live-installer copies the base, the list of what
// the layer deletes, and the merged preseed); for Calamares, a check that a plain copy of the layer is right (its
// unpackfs.conf went into the layer with the payload). Routes that copy file by file need an additive layer, or its
// deletions applied: the hook applies them; Calamares cannot, so such a layer is refused for it.
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RemasterError, UsageError } from '../errors.js';
import { initrdSegment } from '../installer/cpio.js';
import { MEDIUM_DEBS, MEDIUM_INSTALL, MEDIUM_PAYLOAD } from '../installer/medium.js';
import { checkInstallSources, describeChecks } from '../installer/curtin.js';
import { INSTALL_SOURCES, type InstallSource, parseInstallSources } from '../iso/install-sources.js';
import { ISO_SECTOR } from '../iso/probe.js';
import { isoMember } from '../rootfs/chain.js';
import { readIsoTexts } from '../iso/xorriso.js';
import { squashfsInIsoOptions } from '../rootfs/layer.js';
import { changesText, isAdditive, type LayerChanges, layerChanges } from '../installer/layer-changes.js';
import { calamaresStoreEntry } from '../installer/calamares.js';
import { lateCommandOf, mergePreseed, type PreseedPart, recommendsOff, UBIQUITY_SUCCESS } from '../installer/preseed.js';
import {
  initrdCommands,
  LOADER_FILES,
  type ReplayExpectation,
  replayCalamares,
  replayLiveInstaller,
  replayNetinst,
  requireReplayed,
} from '../installer/replay.js';
import { engineBinaries, enginePackages } from '../rootfs/packages.js';
import { readInitrd } from '../iso/initrd.js';
import { xorrisoExtract } from '../iso/xorriso.js';
import { type BuildContext, need, type Stage } from '../pipeline/context.js';
import {
  INSTALLED_STORE_DIR,
  installedStoreCopy,
  installedStoreFile,
  PAYLOAD_DIR,
  READY_STORE_ISO_PATH,
  readTemplate,
  render,
} from '../units/render.js';

/** Where the d-i initrd segment puts remaster's files (live-installer runs every file in its hook folder). */
export const DI_HOOK = 'usr/lib/live-installer.d/remaster';
export const DI_CHANGES = 'usr/lib/remaster/layer-changes';
/** netinst and DVD images: the late command's script, in the initrd (d-i runs it from its own root). */
export const DI_NETINST = 'usr/lib/remaster/netinst-late';

export const installer: Stage = {
  title: 'Installer routes: the layer on installed systems',
  skip: (ctx) => (ctx.facts.target === 'live' ? 'target live: installed systems are not changed' : undefined),
  async run(ctx, task) {
    const base = need(ctx.facts.base, 'base ISO');
    const root = need(ctx.facts.root, 'root layer');
    const layer = need(ctx.facts.layer, 'new layer');
    const routes = base.installers.filter((i) => i.supported);
    // What a plain copy of the layer would get wrong: deletions of base files.
    let changes: LayerChanges = { whiteouts: [], opaque: [], replacedDirs: [] };
    if (root.mode === 'layer' && !base.pool) {
      task.output = 'checking what the layer deletes from the base';
      await root.unmount();
      changes = await layerChanges(root.root, await root.baseView(), ctx.signal);
      await root.unmount();
    }
    ctx.facts.layerChanges = changes;
    const notes: string[] = [];
    const manifest = need(ctx.facts.manifest, 'image manifest');
    const ready = ctx.config.imageStore === 'ready';
    const expect: ReplayExpectation = {
      binaries: engineBinaries[ctx.config.engine],
      packages: enginePackages[ctx.config.engine],
      files: [
        ...LOADER_FILES,
        // A ready store: no archives, the store itself on the disk, where the setup unit looks for it.
        ...(ready
          ? [installedStoreFile(ctx.config.engine).slice(1)]
          : manifest.images.map((i) => `${PAYLOAD_DIR.slice(1)}/images/${i.file}`)),
      ],
      deleted: changes.whiteouts,
    };
    // A ready store reaches the installed disk as its own file, beside the layer (the engine's setup unit uses it there).
    const storeFile = ready ? need(ctx.facts.isoMap.get(READY_STORE_ISO_PATH), 'ready store') : undefined;
    const replayDir = ctx.ws.path('installer', 'replay');
    if (routes.some((r) => r.kind === 'calamares')) {
      if (!isAdditive(changes)) {
        throw new RemasterError(
          `Calamares copies the layer with rsync and cannot apply its deletions (${describe(changes)}): installed systems would keep base files the live system hides`,
          { hint: 'build with --target live, or install through d-i (its hook applies the deletions)' },
        );
      }
      task.output = 'Calamares: replaying its copy (rsync of the layer over the base) into a scratch target';
      requireReplayed(
        await replayCalamares({
          dir: replayDir,
          baseRoot: await root.baseView(),
          layerRoot: root.root,
          store:
            storeFile === undefined
              ? undefined
              : { file: storeFile, isoPath: READY_STORE_ISO_PATH, ...calamaresStoreEntry(ctx.config.engine) },
          mounts: ctx.mounts,
          expect,
          signal: ctx.signal,
        }),
      );
      notes.push(`Calamares: unpackfs.conf lists the layer${storeFile ? ' and the ready store' : ''}; its copy replayed and checked`);
    }
    const di = routes.find((r) => r.kind === 'd-i-live-installer');
    // Rebuild mode replaces the root image itself, which every installer copies: only the answers need a segment.
    const hooked = root.mode === 'layer';
    const user: PreseedPart | undefined =
      ctx.config.preseed === undefined ? undefined : { source: ctx.config.preseed, text: await readFile(ctx.config.preseed, 'utf8') };
    if (di && ready && !hooked) {
      throw new UsageError(
        `imageStore ready: d-i installs this ISO's rebuilt root without remaster's hook, which is what puts the ready store on the installed disk`,
        { hint: 'use --image-store load (installed systems load the archives at first boot), or --target live' },
      );
    }
    if (di && (hooked || user)) {
      const hook = render(
        readTemplate('d-i-live-installer.sh'),
        {
          LAYER: layer.isoPath,
          STORE: ready ? READY_STORE_ISO_PATH : '',
          STORE_COPY: installedStoreCopy(ctx.config.engine),
          STORE_DEST: INSTALLED_STORE_DIR,
        },
        'd-i-live-installer.sh',
      );
      const commands = await segmentInitrds(
        ctx,
        di.initrds ?? [],
        hooked
          ? [
              { path: DI_HOOK, mode: 0o755, content: hook },
              { path: DI_CHANGES, mode: 0o644, content: changesText(changes) },
            ]
          : [],
        [],
        user,
      );
      task.output = "d-i: replaying live-installer's copy and the hook into a scratch target";
      if (hooked)
        requireReplayed(
          await replayLiveInstaller({
            dir: replayDir,
            baseRoot: await root.baseView(),
            layerFile: layer.file,
            layerIsoPath: layer.isoPath,
            store: storeFile === undefined ? undefined : { file: storeFile, isoPath: READY_STORE_ISO_PATH },
            hook,
            changes: changesText(changes),
            commands,
            mounts: ctx.mounts,
            expect,
            signal: ctx.signal,
          }),
        );
      await rm(replayDir, { recursive: true, force: true });
      notes.push(
        `d-i: ${di.initrds?.length ?? 0} initrd(s) carry the live-installer hook${storeFile ? `, which also copies the ready store to ${INSTALLED_STORE_DIR}` : ''} (replayed and checked)${isAdditive(changes) ? '' : ` and ${describe(changes)} to delete first`}${ctx.config.preseed ? `, and ${ctx.config.preseed}` : ''}`,
      );
    }
    const netinst = routes.find((r) => r.kind === 'd-i');
    if (netinst) {
      const script = render(readTemplate('d-i-netinst.sh'), { DEBS: MEDIUM_DEBS, PAYLOAD: MEDIUM_PAYLOAD }, 'd-i-netinst.sh');
      const debs = need(ctx.facts.debs, 'engine packages');
      const commands = await segmentInitrds(
        ctx,
        netinst.initrds ?? [],
        [{ path: DI_NETINST, mode: 0o755, content: script }],
        [`sh /${DI_NETINST}`],
        user,
      );
      task.output = 'd-i: replaying the late command (in-target dpkg -i, the payload unpacked) on the root d-i installs';
      requireReplayed(
        await replayNetinst({
          dir: replayDir,
          baseRoot: await root.baseView(),
          script,
          debsIsoPath: MEDIUM_DEBS,
          debs,
          payloadIsoPath: MEDIUM_PAYLOAD,
          payloadFile: layer.file,
          commands,
          mounts: ctx.mounts,
          expect,
          signal: ctx.signal,
        }),
      );
      await rm(replayDir, { recursive: true, force: true });
      notes.push(
        `d-i: ${netinst.initrds?.length ?? 0} initrd(s) carry the late command for ${debs.length} .deb and the payload (replayed and checked)${ctx.config.preseed ? `, and ${ctx.config.preseed}` : ''}`,
      );
    }
    const ubiquity = routes.find((r) => r.kind === 'ubiquity');
    if (ubiquity) {
      notes.push(await ubiquityRoute(ctx, ubiquity.seeds ?? [], expect, (l) => (task.output = l)));
    }
    const subiquity = routes.find((r) => r.kind === 'subiquity');
    if (subiquity) {
      task.output = "subiquity: mounting each install source's chain as curtin does, and checking it";
      notes.push(await checkSubiquity(ctx, subiquity.sources ?? [], expect));
    }
    if (user && (di || netinst) && recommendsOff(user.text) && base.boot.uefi)
      notes.push(
        `warning: ${ctx.config.preseed} turns Recommends off, so d-i installs GRUB without its signed build: installed servers will boot only with Secure Boot off (drop base-installer/install-recommends false)`,
      );
    task.output = notes.join('; ');
  },
};

/** The command the Ubiquity seeds run: the medium's install script (d-i-netinst.sh), from the live session's /cdrom. */
export const UBIQUITY_COMMAND = `sh /cdrom${MEDIUM_INSTALL}`;

/**
 * Ubiquity: ubiquity/success_command in every seed a boot entry loads runs the medium's install script (the engine's
 * .debs with dpkg in /target, then the payload tar), after the seed's own command; replayed on the base root.
 */
async function ubiquityRoute(
  ctx: BuildContext,
  seeds: readonly string[],
  expect: ReplayExpectation,
  say: (l: string) => void,
): Promise<string> {
  const base = need(ctx.facts.base, 'base ISO');
  const root = need(ctx.facts.root, 'root layer');
  const debs = need(ctx.facts.debs, 'engine packages');
  const script = render(readTemplate('d-i-netinst.sh'), { DEBS: MEDIUM_DEBS, PAYLOAD: MEDIUM_PAYLOAD }, 'd-i-netinst.sh');
  const dir = ctx.ws.path('installer');
  await mkdir(dir, { recursive: true });
  const host = join(dir, 'ubiquity-install.sh');
  await writeFile(host, script, { mode: 0o755 });
  ctx.facts.isoMap.set(MEDIUM_INSTALL, host);
  let kept = 0;
  for (const [seed, text] of await readIsoTexts(base.iso, seeds, { signal: ctx.signal })) {
    if (lateCommandOf(text, UBIQUITY_SUCCESS) !== undefined) kept += 1;
    const out = join(dir, seed.slice(1).replaceAll('/', '__'));
    await writeFile(out, mergePreseed([{ source: '', text }], [UBIQUITY_COMMAND], UBIQUITY_SUCCESS));
    ctx.facts.isoMap.set(seed, out);
  }
  say('Ubiquity: replaying its success command (dpkg -i in /target, the payload unpacked) on the first squashfs');
  const replayDir = ctx.ws.path('installer', 'replay');
  const first = base.rootfs[0];
  if (!first) throw new Error('internal: no root layer');
  const mounts = ctx.mounts;
  await root.unmount();
  const rofs = join(replayDir, 'rofs');
  await mkdir(rofs, { recursive: true });
  await mounts.mount({
    source: base.iso,
    target: rofs,
    type: 'squashfs',
    options: squashfsInIsoOptions({ offset: first.lba * ISO_SECTOR, bytes: first.bytes }),
  });
  requireReplayed(
    await replayNetinst({
      dir: replayDir,
      baseRoot: rofs,
      script,
      debsIsoPath: MEDIUM_DEBS,
      debs,
      payloadIsoPath: MEDIUM_PAYLOAD,
      payloadFile: need(ctx.facts.isoMap.get(MEDIUM_PAYLOAD), 'payload tar'),
      mounts,
      expect,
      signal: ctx.signal,
      route: 'ubiquity',
    }),
  );
  await rm(replayDir, { recursive: true, force: true });
  return `Ubiquity: success_command in ${seeds.join(', ')}${kept ? ` (after the seed's own command in ${kept})` : ''} installs ${debs.length} .deb and the payload (replayed and checked)`;
}

/** subiquity: each install source's chain as curtin mounts it, from the medium as it will be written. */
async function checkSubiquity(ctx: BuildContext, sources: readonly InstallSource[], expect: ReplayExpectation): Promise<string> {
  const base = need(ctx.facts.base, 'base ISO');
  const yaml = ctx.facts.isoMap.get(INSTALL_SOURCES);
  const written = yaml ? parseInstallSources(await readFile(yaml, 'utf8')) : undefined;
  if (!written?.ok)
    throw new Error(`internal: the rewritten install-sources.yaml does not parse (${written ? written.why : 'not written'})`);
  const checks = await checkInstallSources({
    sources: written.sources,
    lookup: (p) => {
      const file = ctx.facts.isoMap.get(p);
      if (file) return { file };
      return isoMember(base.iso, base.files, p);
    },
    expect: { ...expect, deleted: [] },
    dir: ctx.ws.path('installer', 'curtin'),
    signal: ctx.signal,
  });
  const bad = checks.filter((c) => c.problems.length > 0);
  if (bad.length > 0) {
    throw new RemasterError(`a subiquity install from this ISO would miss part of the payload: ${describeChecks(bad).join('; ')}`, {
      hint: 'this is a remaster bug for this base: report it with the base ISO name and the build log',
    });
  }
  return `subiquity: ${sources.length} install source(s), ${checks.length} chain(s) mounted as curtin does and checked (${describeChecks(checks).join('; ')})`;
}

/**
 * Append remaster's segment to every d-i initrd of the medium: its files, and the merged /preseed.cfg (the initrd's own
 * answers, then the site's, then remaster's late commands after theirs); none when there is nothing to say. Returns
 * the commands d-i offers (the first initrd's; the graphical one has the same tools).
 */
async function segmentInitrds(
  ctx: BuildContext,
  initrds: readonly string[],
  files: readonly { path: string; mode: number; content: string }[],
  lateCommands: readonly string[],
  user: PreseedPart | undefined,
): Promise<string[]> {
  const base = need(ctx.facts.base, 'base ISO');
  const dir = ctx.ws.path('installer');
  await mkdir(dir, { recursive: true });
  let commands: string[] | undefined;
  for (const initrd of initrds) {
    const host = join(dir, initrd.slice(1).replaceAll('/', '__'));
    await xorrisoExtract(base.iso, [{ from: initrd, to: host }], { signal: ctx.signal });
    // One pass over the medium's initrd: its command names and the answers it carries.
    const own = await readInitrd(host, 0, (await stat(host)).size, (n) => n === 'preseed.cfg');
    commands ??= initrdCommands(own.names);
    const preseed = preseedFor(initrd, own.files.get('preseed.cfg'), user, lateCommands);
    const segment = initrdSegment(
      [...files, ...(preseed === undefined ? [] : [{ path: 'preseed.cfg', mode: 0o644, content: preseed }])],
      ctx.config.sourceDateEpoch ?? 0,
    );
    await writeFile(host, Buffer.concat([await readFile(host), segment]));
    ctx.facts.isoMap.set(initrd, host);
  }
  return commands ?? [];
}

function describe(c: LayerChanges): string {
  return [
    c.whiteouts.length && `${c.whiteouts.length} deleted file(s)`,
    c.opaque.length && `${c.opaque.length} replaced folder(s)`,
    c.replacedDirs.length && `${c.replacedDirs.length} folder(s) turned into files`,
  ]
    .filter(Boolean)
    .join(', ');
}

/**
 * The /preseed.cfg the segment carries: the initrd's own (a medium may preseed through its initrd, and ours replaces
 * that file), then the user's; none when neither exists (an interactive install still runs the hook).
 */
function preseedFor(
  initrd: string,
  own: string | undefined,
  user: PreseedPart | undefined,
  lateCommands: readonly string[],
): string | undefined {
  const parts: PreseedPart[] = [];
  if (own !== undefined) parts.push({ source: `${initrd}: its own /preseed.cfg`, text: own });
  if (user !== undefined) parts.push(user);
  return parts.length === 0 && lateCommands.length === 0 ? undefined : mergePreseed(parts, lateCommands);
}
