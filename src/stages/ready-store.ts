// Ready store (podman): images copied into a containers-storage tree on the medium, so podman lists them at
// boot with no load. It is a squashfs of its own, mounted read-only at boot (never stacked into the live root:
// overlayfs would read the layers' whiteout files as its own and hide them).
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { run } from '../exec/run.js';
import { openTar, sniffCompression } from '../images/docker-archive.js';
import { parseRef } from '../images/reference.js';
import { parseSkopeoLine } from '../images/skopeo.js';
import { need, type Stage } from '../pipeline/context.js';
import { sweepMounts } from '../rootfs/mounts.js';
import { mksquashfs } from '../rootfs/squashfs.js';
import { READY_STORE_ISO_PATH } from '../units/render.js';
import { mib } from '../util/format.js';
import { baseIdentity } from '../pipeline/resume.js';

const STORE_FILE = 'ready-store.squashfs';

/** podman names a locally loaded short name localhost/<name>; the ready store uses the same names. */
export function readyStoreName(ref: string): string {
  const r = parseRef(ref);
  const first = r.name.split('/')[0] ?? '';
  const hasDomain = r.name.includes('/') && (/[.:]/.test(first) || first === 'localhost');
  return hasDomain ? r.full : `localhost/${r.full}`;
}

export function containersStorageRef(store: string, runRoot: string, name: string): string {
  return `containers-storage:[overlay@${store}+${runRoot}]${name}`;
}

export const readyStore: Stage = {
  title: 'Fill the podman ready store',
  skip: (ctx) => (ctx.config.podmanStore === 'ready' ? undefined : 'images load at boot (--podman-store load)'),
  resume: {
    key: 'readyStore',
    after: ['images'],
    inputs: async (ctx) => ({
      base: await baseIdentity(ctx),
      sourceDateEpoch: ctx.config.sourceDateEpoch,
      compression: ctx.facts.layerCompression,
    }),
    save: () => ({ facts: {}, files: [STORE_FILE] }),
    restore: (ctx) => {
      ctx.facts.isoMap.set(READY_STORE_ISO_PATH, ctx.ws.path(STORE_FILE));
    },
  },
  async run(ctx, task) {
    const base = need(ctx.facts.base, 'base ISO');
    const manifest = need(ctx.facts.manifest, 'image manifest');
    const store = ctx.ws.path('ready-store');
    const runRoot = ctx.ws.path('ready-run');
    await sweepMounts(store);
    await rm(store, { recursive: true, force: true });
    await rm(runRoot, { recursive: true, force: true });
    await mkdir(store, { recursive: true });
    try {
      for (const img of manifest.images) {
        const archive = join(ctx.ws.payload, 'images', img.file);
        const tar = ctx.ws.path('ready-source.tar');
        await pipeline(openTar(archive, await sniffCompression(archive), ctx.signal), createWriteStream(tar));
        for (const ref of img.refs) {
          task.output = `${ref} -> ready store`;
          let blobs = 0;
          await run(
            'skopeo',
            ['--insecure-policy', 'copy', `docker-archive:${tar}`, containersStorageRef(store, runRoot, readyStoreName(ref))],
            {
              signal: ctx.signal,
              onLine: (line) => {
                const p = parseSkopeoLine(line);
                if (p) task.output = `${ref} -> ready store: ${p.what === 'blob' ? `blob ${++blobs} (${p.digest.slice(0, 19)})` : p.what}`;
                return p !== undefined;
              },
            },
          );
        }
        await rm(tar, { force: true });
      }
    } finally {
      // containers-storage bind-mounts its overlay folder onto itself while it works.
      await sweepMounts(store);
      await rm(runRoot, { recursive: true, force: true });
    }
    const top = base.rootfs[base.rootfs.length - 1];
    if (!top) throw new Error('internal: base has no root layer');
    // Mounted by the live kernel like a layer: compressed as the layers are (inspect stage).
    const comp = need(ctx.facts.layerCompression, 'layer compression');
    const file = ctx.ws.path(STORE_FILE);
    const partial = `${file}.partial`;
    await rm(file, { force: true });
    await rm(partial, { force: true });
    await mksquashfs(
      {
        source: store,
        target: partial,
        compression: comp.compression,
        blockSize: top.blockSize,
        level: comp.level,
        sourceDateEpoch: ctx.config.sourceDateEpoch,
      },
      { signal: ctx.signal },
      (line) => {
        task.output = line;
      },
    );
    await rename(partial, file);
    ctx.facts.isoMap.set(READY_STORE_ISO_PATH, file);
    await rm(store, { recursive: true, force: true });
    task.output = `${manifest.images.length} image(s), ${mib((await stat(file)).size)} at ${READY_STORE_ISO_PATH} (${comp.compression}${comp.level ? ` level ${comp.level}` : ''}: ${comp.reason})`;
  },
};
