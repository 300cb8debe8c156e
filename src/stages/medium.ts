// Medium (netinst and DVD bases): what d-i's late command installs, put under /remaster on the medium: the engine's
// .debs (what the installed base lacks, resolved against it) and one tar of the payload (loader, units, engine
// configuration, archives, manifest) as the payload stage wrote it into the layer. The base's signed pool and Release
// stay untouched: the late command installs with dpkg, not through apt's sources.
import { lstat, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { run } from '../exec/run.js';
import { MEDIUM_DEBS, MEDIUM_PAYLOAD } from '../installer/medium.js';
import { need, type Stage } from '../pipeline/context.js';
import { installsFromMedium } from '../iso/installers.js';
import { mib } from '../util/format.js';

/** The engine configuration remaster writes (when the package did not bring its own). */
const ENGINE_CONFIG = ['etc/docker/daemon.json', 'etc/containers/storage.conf'] as const;

export const medium: Stage = {
  title: 'Put the engine packages and the payload on the installer medium',
  skip: (ctx) =>
    ctx.facts.base && installsFromMedium(ctx.facts.base, ctx.facts.target)
      ? undefined
      : 'installed systems get the payload with a squashfs layer (or only the live session does)',
  async run(ctx, task) {
    const root = need(ctx.facts.root, 'root layer');
    const debs = need(ctx.facts.debs, 'engine packages');
    await root.unmount();
    const upper = root.root;
    // Exactly what the payload stage wrote, and the engine's configuration: never the engine install itself (dpkg
    // installs that on the target, with its own status database).
    const written = JSON.parse(await readFile(ctx.ws.payloadWritten, 'utf8')) as { files: string[] };
    const present = async (p: string) =>
      lstat(join(upper, p)).then(
        () => true,
        () => false,
      );
    const files: string[] = [];
    for (const f of [...written.files, ...ENGINE_CONFIG]) if (await present(f)) files.push(f);
    files.sort();
    const dir = ctx.ws.path('medium');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const list = join(dir, 'payload.list');
    await writeFile(list, `${files.join('\n')}\n`);
    const tarFile = join(dir, 'payload.tar');
    const epoch = String(ctx.config.sourceDateEpoch ?? 0);
    task.output = `tar of ${files.length} payload file(s)`;
    // GNU format (long names), numeric root ownership, fixed times: d-i's busybox tar unpacks it; it is reproducible.
    await run(
      'tar',
      [
        '-C',
        upper,
        '--format=gnu',
        '--numeric-owner',
        '--owner=0',
        '--group=0',
        `--mtime=@${epoch}`,
        '--sort=name',
        '-cf',
        tarFile,
        '-T',
        list,
      ],
      { signal: ctx.signal },
    );
    const bytes = (await stat(tarFile)).size;
    // Nothing live gets a layer (a netinst base, or target installed): the tar is the build's layer.
    if (ctx.facts.base?.pool || ctx.facts.target === 'installed') ctx.facts.layer = { isoPath: MEDIUM_PAYLOAD, file: tarFile, bytes };
    ctx.facts.isoMap.set(MEDIUM_PAYLOAD, tarFile);
    let debBytes = 0;
    for (const d of debs) {
      ctx.facts.isoMap.set(`${MEDIUM_DEBS}/${basename(d)}`, d);
      debBytes += (await stat(d)).size;
    }
    task.output = `${MEDIUM_PAYLOAD}: ${mib(bytes)}; ${MEDIUM_DEBS}: ${debs.length} .deb (${mib(debBytes)})`;
  },
};
