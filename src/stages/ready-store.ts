// Ready store: the images travel on the medium as the engine's own store, so the engine lists them at boot with no
// load. podman: a containers-storage tree filled by skopeo, a squashfs of its own mounted read-only at boot as an
// additional image store (never stacked into the live root: overlayfs would read the layers' whiteout files as its own
// and hide them). docker: its data root (overlay2 on ext4) filled by the dockerd the ISO ships, run from the new root
// in private namespaces (scripts/docker-store-fill); the ext4 image goes in the squashfs, and at boot a device-mapper
// snapshot makes it writable as /var/lib/docker (templates/docker-ready-store.sh).
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { RemasterError } from '../errors.js';
import { run } from '../exec/run.js';
import { decompressorCommand } from '../images/compress.js';
import { openTar, sniffCompression } from '../images/docker-archive.js';
import type { PayloadManifest } from '../images/manifest.js';
import { parseRef } from '../images/reference.js';
import { parseSkopeoLine } from '../images/skopeo.js';
import { type BuildContext, need, type Stage, type StageTask } from '../pipeline/context.js';
import { sweepMounts } from '../rootfs/mounts.js';
import { mksquashfs } from '../rootfs/squashfs.js';
import { DOCKER_STORE_FILE, READY_STORE_ISO_PATH } from '../units/render.js';
import { mib } from '../util/format.js';
import { sha256File } from '../util/hash.js';
import { baseIdentity } from '../pipeline/resume.js';

const FILL_DOCKER = fileURLToPath(new URL('../../../scripts/docker-store-fill', import.meta.url));

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
  title: 'Fill the ready image store',
  skip: (ctx) => (ctx.config.imageStore === 'ready' ? undefined : 'images load at boot (--image-store load)'),
  resume: {
    key: 'readyStore',
    after: ['images'],
    inputs: async (ctx) => ({
      base: await baseIdentity(ctx),
      engine: ctx.config.engine,
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
    task.title = `Fill the ${ctx.config.engine} ready store`;
    const store = ctx.ws.path('ready-store');
    const runRoot = ctx.ws.path('ready-run');
    await sweepMounts(store);
    await rm(store, { recursive: true, force: true });
    await rm(runRoot, { recursive: true, force: true });
    await mkdir(store, { recursive: true });
    if (ctx.config.engine === 'docker') await fillDocker(ctx, task, manifest, store, runRoot);
    else await fillPodman(ctx, task, manifest, store, runRoot);
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

async function fillPodman(ctx: BuildContext, task: StageTask, manifest: PayloadManifest, store: string, runRoot: string): Promise<void> {
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
}

/** A version-4-shaped UUID from the sha256 of text. */
export function uuidOf(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Room for docker to unpack the images while it fills the store (the image is sparse, and shrunk to fit after). */
export function dockerFillBytes(manifest: PayloadManifest): number {
  const unpacked = manifest.images.reduce((sum, img) => sum + img.uncompressedBytes, 0);
  return Math.ceil((unpacked * 2 + 512 * 1048576) / 1048576) * 1048576;
}

/** The `id REF ID` lines of scripts/docker-store-fill, checked against the manifest: every reference, its image's ID. */
export function checkDockerStore(manifest: PayloadManifest, ids: ReadonlyMap<string, string>): void {
  for (const img of manifest.images) {
    for (const ref of img.refs) {
      const got = ids.get(ref);
      if (got !== img.imageId) {
        throw new RemasterError(
          `docker ready store: ${ref} ${got === undefined || got === 'none' ? 'is not in the store' : `has ID ${got.slice(0, 19)} in the store`} after docker load, but the manifest says ${img.imageId.slice(0, 19)}`,
          { hint: 'the archive and the manifest disagree: rebuild with --no-resume; if it persists, report it with --debug output' },
        );
      }
    }
  }
}

async function fillDocker(ctx: BuildContext, task: StageTask, manifest: PayloadManifest, store: string, runRoot: string): Promise<void> {
  const layer = need(ctx.facts.root, 'root layer');
  if (!layer.mounted) await layer.mount();
  const image = join(store, DOCKER_STORE_FILE);
  const handle = await open(image, 'w');
  await handle.truncate(dockerFillBytes(manifest));
  await handle.close();
  // UUID and directory hash seed from the images, so the same inputs make the same file system.
  const uuid = uuidOf(`${manifest.images.map((i) => i.imageId).join(',')} ${ctx.config.sourceDateEpoch ?? ''}`);
  await run(
    'mkfs.ext4',
    [
      '-q',
      '-F',
      '-m',
      '0',
      '-L',
      'remaster-docker',
      '-U',
      uuid,
      '-E',
      `hash_seed=${uuid},lazy_itable_init=1,lazy_journal_init=1,nodiscard`,
      image,
    ],
    {
      signal: ctx.signal,
      env: ctx.config.sourceDateEpoch === undefined ? {} : { E2FSPROGS_FAKE_TIME: String(ctx.config.sourceDateEpoch) },
    },
  );
  const list = join(runRoot, 'images.list');
  await mkdir(runRoot, { recursive: true });
  await writeFile(list, manifest.images.map((img) => `${join(ctx.ws.payload, 'images', img.file)}\t${img.refs.join(',')}\n`).join(''));
  const ids = new Map<string, string>();
  let loaded = 0;
  try {
    await run(
      'unshare',
      [
        '--mount',
        '--net',
        '--pid',
        '--fork',
        '--propagation',
        'private',
        FILL_DOCKER,
        layer.merged,
        image,
        join(runRoot, 'fill'),
        list,
        ...decompressorCommand(manifest.compression).split(' '),
      ],
      {
        signal: ctx.signal,
        onLine: (line, stream) => {
          if (stream !== 'stdout') return false;
          const id = /^id (\S+) (\S+)$/.exec(line);
          if (id?.[1] && id[2]) ids.set(id[1], id[2]);
          else if (line.startsWith('loaded ')) task.output = `docker load: ${++loaded}/${manifest.images.length} archive(s)`;
          return true;
        },
      },
    );
  } finally {
    await layer.unmount();
    await rm(runRoot, { recursive: true, force: true });
  }
  checkDockerStore(manifest, ids);
  // The store goes on the medium as small as its contents: at boot it grows into the room its snapshot has.
  task.output = 'shrinking the store to its contents';
  await run('e2fsck', ['-f', '-y', image], { signal: ctx.signal, okCodes: [0, 1] });
  await run('resize2fs', ['-M', image], { signal: ctx.signal });
  // Its exact bytes name the snapshot's exception store on a store device: changes made over one image never meet another.
  await writeFile(`${image}.sha256`, `${await sha256File(image)}\n`);
  task.output = `docker ready store: ${manifest.images.length} image(s), ${mib((await stat(image)).size)} ext4`;
}
