// Payload: put the image archives, the manifest and the rendered loader units into the new layer.
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { need, type Stage } from '../pipeline/context.js';
import { INSTALLED_STORE_DIR, loaderFiles, PAYLOAD_DIR, READY_STORE_ISO_PATH, readyStoreFiles, readyStoreImage } from '../units/render.js';
import { appFiles } from '../units/run-units.js';
import { linkOrCopy } from '../util/fs.js';
import { UNPACKFS_CONF, unpackfsWithLayer } from '../installer/calamares.js';
import { newLayerIsoPath } from '../iso/layer-path.js';
import { writeRootFiles } from '../rootfs/files.js';

/** Take out what an earlier payload run put into the layer (files first, then the folders it made, if empty). */
async function removeWritten(root: string, listFile: string): Promise<void> {
  const list = JSON.parse(await readFile(listFile, 'utf8').catch(() => '{}')) as { files?: string[]; dirs?: string[] };
  for (const f of list.files ?? []) await rm(join(root, f), { recursive: true, force: true });
  for (const d of [...(list.dirs ?? [])].sort((a, b) => b.length - a.length)) await rmdir(join(root, d)).catch(() => {});
}

/** Folders a set of files needs that the root does not have yet (relative), shallowest first. */
function missingDirs(root: string, files: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const f of files) {
    for (let d = dirname(f); d !== '.' && d !== '/' && !existsSync(join(root, d)); d = dirname(d)) dirs.add(d);
  }
  return [...dirs].sort((a, b) => a.length - b.length);
}

export const payload: Stage = {
  title: 'Add images, manifest and loader units',
  resume: {
    key: 'payload',
    after: ['engine', 'images'],
    inputs: async (ctx) => {
      const c = ctx.config;
      return {
        engine: c.engine,
        deleteAfterLoad: c.deleteAfterLoad,
        tmpfsSize: c.tmpfsSize,
        storeDevice: c.storeDevice,
        store: c.imageStore,
        target: ctx.facts.target,
      };
    },
    save: () => ({ facts: {}, files: [] }),
    restore: () => {},
  },
  async run(ctx, task) {
    const layer = need(ctx.facts.root, 'root layer');
    const root = layer.root;
    const manifest = need(ctx.facts.manifest, 'image manifest');
    // The layer is written directly (an overlay's upper directory must not change under a mount).
    await layer.unmount();
    const listFile = ctx.ws.payloadWritten;
    await removeWritten(root, listFile);
    await layer.touch('payload');
    const ready = ctx.config.imageStore === 'ready';
    const rel = PAYLOAD_DIR.slice(1);
    // With a ready store the images are on the medium already: the loader finds them present and loads nothing.
    const archives = ready ? [] : manifest.images.map((img) => join('images', img.file));
    const links = [...archives, 'images.json', 'images.tsv'];
    const files = loaderFiles({
      engine: ctx.config.engine,
      compression: manifest.compression,
      deleteAfterLoad: ctx.config.deleteAfterLoad,
      tmpfsSize: ctx.config.tmpfsSize,
      storeDevice: ctx.config.storeDevice,
      reportPort: 'org.remaster.report',
      readyStore: ready,
    });
    if (ready) {
      const casper = need(ctx.facts.base, 'base ISO').flavor === 'ubuntu-casper';
      files.push(...readyStoreFiles(ctx.config.engine, ctx.config.tmpfsSize, readyStoreImage(casper)));
    }
    const podman = ctx.facts.installedPackages?.find((p) => p.startsWith('podman='))?.slice('podman='.length);
    const runs = ctx.config.images.flatMap((spec, i) => {
      const ref = manifest.images[i]?.refs[0];
      return spec.run && ref ? [{ ref, run: spec.run }] : [];
    });
    files.push(...appFiles(ctx.config.engine, podman, runs));
    // Calamares installs what its unpackfs.conf lists: the layer's copy lists the base's images and then the layer.
    const calamares =
      ctx.facts.target !== 'live' ? need(ctx.facts.base, 'base ISO').installers.find((i) => i.kind === 'calamares') : undefined;
    if (calamares?.unpackfs !== undefined) {
      const layerPath = newLayerIsoPath(need(ctx.facts.base, 'base ISO'), layer.mode, ctx.facts.target);
      files.push({
        path: UNPACKFS_CONF,
        mode: 0o644,
        content: unpackfsWithLayer(
          calamares.unpackfs,
          layerPath,
          ready ? { isoPath: READY_STORE_ISO_PATH, engine: ctx.config.engine } : undefined,
        ),
      });
    }
    const written = [...links.map((l) => join(rel, l)), ...files.map((f) => f.path)];
    // Where an installer puts the ready store: there already, so Calamares' rsync copies a file into it, not as it.
    const storeDir = ready && ctx.facts.target !== 'live' ? [INSTALLED_STORE_DIR.slice(1)] : [];
    const dirs = missingDirs(root, [...written, join(rel, 'images', '-'), ...storeDir.map((d) => join(d, '-'))]);
    // Listed before anything is written: an interrupted run is undone just the same.
    await writeFile(listFile, `${JSON.stringify({ files: written, dirs }, null, 2)}\n`);
    await mkdir(join(root, rel, 'images'), { recursive: true, mode: 0o755 });
    for (const d of storeDir) await mkdir(join(root, d), { recursive: true, mode: 0o755 });
    for (const l of links) await linkOrCopy(join(ctx.ws.payload, l), join(root, rel, l));
    await writeRootFiles(root, files);
    const st = await lstat(join(root, 'usr/lib/remaster/load-images'));
    task.output = `${manifest.images.length} image(s) in ${PAYLOAD_DIR}, loader ${st.size} bytes, ${runs.length} app unit(s), enabled for multi-user.target`;
  },
};
