// Payload: put the image archives, the manifest and the rendered loader units into the new layer.
import { copyFile, link, lstat, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Stage } from '../pipeline/context.js';
import { need } from '../pipeline/context.js';
import { loaderFiles, PAYLOAD_DIR, type RootFile, readyStoreFiles } from '../units/render.js';
import { appFiles } from '../units/run-units.js';

/** Write files into a root directory (the layer's upper dir or a full tree), creating parents 0755. */
export async function writeRootFiles(root: string, files: readonly RootFile[]): Promise<void> {
  for (const f of files) {
    const target = join(root, f.path);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await rm(target, { force: true });
    if (f.symlink !== undefined) await symlink(f.symlink, target);
    else await writeFile(target, f.content ?? '', { mode: f.mode });
  }
}

/** Hard-link when the workspace and the layer share a filesystem (instant), copy otherwise. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  await rm(to, { force: true });
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}

export const payload: Stage = {
  title: 'Add images, manifest and loader units',
  async run(ctx, task) {
    const root = need(ctx.facts.layerRoot, 'layer root');
    const manifest = need(ctx.facts.manifest, 'image manifest');
    const dest = join(root, PAYLOAD_DIR.slice(1));
    await mkdir(join(dest, 'images'), { recursive: true, mode: 0o755 });
    const ready = ctx.config.podmanStore === 'ready';
    // With a ready store the images are on the medium already: the loader finds them present and loads nothing.
    if (!ready) {
      for (const img of manifest.images) await linkOrCopy(join(ctx.ws.payload, 'images', img.file), join(dest, 'images', img.file));
    }
    for (const name of ['images.json', 'images.tsv']) await linkOrCopy(join(ctx.ws.payload, name), join(dest, name));
    const files = loaderFiles({
      engine: ctx.config.engine,
      compression: manifest.compression,
      deleteAfterLoad: ctx.config.deleteAfterLoad,
      tmpfsSize: ctx.config.tmpfsSize,
      reportPort: 'org.remaster.report',
    });
    await writeRootFiles(root, files);
    if (ready) await writeRootFiles(root, readyStoreFiles());
    const podman = ctx.facts.installedPackages?.find((p) => p.startsWith('podman='))?.slice('podman='.length);
    const runs = ctx.config.images.flatMap((spec, i) => {
      const ref = manifest.images[i]?.refs[0];
      return spec.run && ref ? [{ ref, run: spec.run }] : [];
    });
    await writeRootFiles(root, appFiles(ctx.config.engine, podman, runs));
    const st = await lstat(join(root, 'usr/lib/remaster/load-images'));
    task.output = `${manifest.images.length} image(s) in ${PAYLOAD_DIR}, loader ${st.size} bytes, ${runs.length} app unit(s), enabled for multi-user.target`;
  },
};
