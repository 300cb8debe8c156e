// Metadata: what the medium says about its root (package manifest, unpacked size), the boot menus (casper's
// layer path, kernel arguments, serial console, title, timeout) and .disk/info. Only files that change are
// written; the iso stage maps them in and updates their checksum entries.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UsageError } from '../errors.js';
import { run } from '../exec/run.js';
import { autoinstallFiles, parseAutoinstall, UNATTENDED_ARGS } from '../installer/autoinstall.js';
import { editGrubCfg, editIsolinuxCfg, isGrubMenu, type MenuEdit } from '../iso/menus.js';
import { readIsoTexts } from '../iso/xorriso.js';
import { type BuildContext, need, type Stage } from '../pipeline/context.js';

const TOP_ISOLINUX = /\/(isolinux|syslinux)\.cfg$/;

export const metadata: Stage = {
  title: 'Boot menus and medium metadata',
  async run(ctx, task) {
    const base = need(ctx.facts.base, 'base ISO');
    const layer = need(ctx.facts.layer, 'new layer');
    const dir = ctx.ws.path('meta');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const put = async (isoPath: string, text: string) => {
      const host = join(dir, isoPath.slice(1).replaceAll('/', '__'));
      await writeFile(host, text);
      ctx.facts.isoMap.set(isoPath, host);
    };
    const notes: string[] = [];

    // Manifest and size describe the root as booted: dpkg-query and du on the merged tree, as live-build and
    // livecd-rootfs compute them.
    // Target installed leaves the live root as it was: so do the files that describe it.
    const targets = ctx.facts.target === 'installed' ? [] : metadataTargets(base, layer.isoPath, need(ctx.facts.root, 'root layer').mode);
    if (targets.length > 0) {
      const root = await need(ctx.facts.root, 'root layer').finalView();
      const q = await run('dpkg-query', [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '--showformat=${Package}\\t${Version}\\n'], {
        signal: ctx.signal,
      });
      const manifest = `${q.stdout.split('\n').filter(Boolean).sort().join('\n')}\n`;
      // No -x: on an overlay, files report their lower layer's device.
      const du = await run('du', ['-s', '--block-size=1', root], { signal: ctx.signal });
      const size = `${du.stdout.trim().split(/\s+/)[0]}\n`;
      for (const t of targets) await put(t, t.endsWith('.size') ? size : manifest);
      notes.push(`${targets.map((t) => basename(t)).join(', ')}`);
    }

    const edit = menuEdit(ctx);
    if (edit) {
      let edited = 0;
      const other = new Set<string>();
      for (const [from, text] of await readIsoTexts(base.iso, base.bootMenus, { signal: ctx.signal })) {
        const r = isGrubMenu(from) ? editGrubCfg(text, edit) : editIsolinuxCfg(text, edit, TOP_ISOLINUX.test(from));
        for (const o of r.otherChains) other.add(o);
        if (r.text !== text) {
          await put(from, r.text);
          edited += r.edited;
        }
      }
      if (edit.layerfs && edited === 0) {
        throw new UsageError(
          `${base.iso}: no boot menu entry starts casper's live chain ${edit.layerfs.from}: the new layer would never be used`,
          {
            hint: 'check the base with remaster inspect; entries must boot the live kernel with that layer path',
          },
        );
      }
      notes.push(`${edited} kernel line(s) edited`);
      if (other.size > 0) notes.push(`entries booting ${[...other].join(', ')} keep their own chain (no payload)`);
    }

    if (ctx.config.autoinstall !== undefined) {
      const text = await readFile(ctx.config.autoinstall, 'utf8');
      const doc = parseAutoinstall(text);
      if (!doc.ok) throw new UsageError(`autoinstall: ${ctx.config.autoinstall}: ${doc.why}`);
      const files = autoinstallFiles(text, doc, ctx.config.autoinstallUnattended);
      for (const [isoPath, content] of files) await put(isoPath, content);
      notes.push(
        `${[...files.keys()].join(', ')} from ${ctx.config.autoinstall}${doc.lateCommands > 0 ? ` (its ${doc.lateCommands} late-commands kept; remaster adds none)` : ''}`,
      );
    }

    if (ctx.config.diskInfo !== undefined) {
      await put('/.disk/info', ctx.config.diskInfo);
      notes.push('.disk/info branded');
    }
    task.output = notes.join('; ') || 'nothing to change';
  },
};

/** Files describing the root that this base carries (or, for a casper layer, that sit beside each layer). */
export function metadataTargets(
  base: { flavor: string; liveDir: string; files: { path: string }[]; casper?: { layered: boolean } | undefined },
  layerIsoPath: string,
  mode: 'layer' | 'rebuild',
): string[] {
  const has = (p: string) => base.files.some((f) => f.path === p);
  if (base.casper?.layered && mode === 'layer') {
    const stem = layerIsoPath.replace(/\.squashfs$/, '');
    return [`${stem}.manifest`, `${stem}.size`];
  }
  const names = base.flavor === 'ubuntu-casper' ? ['filesystem.manifest', 'filesystem.size'] : ['filesystem.packages', 'filesystem.size'];
  return names.map((n) => `${base.liveDir}/${n}`).filter(has);
}

function menuEdit(ctx: BuildContext): MenuEdit | undefined {
  const base = need(ctx.facts.base, 'base ISO');
  const layer = need(ctx.facts.layer, 'new layer');
  const b = ctx.config;
  const e: MenuEdit = { kernels: base.kernels };
  const args = [...b.kernelArgs, ...(b.autoinstall !== undefined && b.autoinstallUnattended ? UNATTENDED_ARGS : [])];
  if (args.length > 0) e.addArgs = args;
  if (b.serialConsole) e.serial = true;
  if (b.menuTitle !== undefined) e.title = b.menuTitle;
  if (b.menuTimeout !== undefined) e.timeoutSeconds = b.menuTimeout;
  // Target installed leaves the live chain as it was: the boot menus keep booting it.
  if (base.casper?.layered && ctx.facts.root?.mode === 'layer' && ctx.facts.target !== 'installed') {
    const top = base.rootfs.at(-1);
    if (!top) throw new Error('internal: no casper layer');
    e.layerfs = {
      from: basename(top.path),
      to: basename(layer.isoPath),
      initrdDefault: base.casper.initrdLayerfsPath,
    };
  }
  return Object.keys(e).length > 1 ? e : undefined;
}
