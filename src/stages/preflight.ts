// Preflight: refuse before any work when the machine or the arguments cannot produce an ISO.
import { constants, existsSync } from 'node:fs';
import { access, mkdir, realpath, stat, statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { RemasterError, UsageError } from '../errors.js';
import { run } from '../exec/run.js';
import { requiredTools, toolPackage } from '../exec/tools.js';
import { which } from '../exec/which.js';
import type { Stage } from '../pipeline/context.js';
import { gib } from '../util/format.js';

/** xorriso >= 1.5.4 is needed for -boot_image any replay. */
export function xorrisoVersionOk(versionLine: string): boolean {
  const m = /xorriso (\d+)\.(\d+)\.(\d+)/.exec(versionLine);
  if (!m) return false;
  const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return a > 1 || (a === 1 && (b > 5 || (b === 5 && c >= 4)));
}

const GiB = 1024 ** 3;

/** Before the workspace is even created: the build mounts and chroots, which only root may do. */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new UsageError(`${what} must run as root (it loop-mounts the root filesystem and chroots into it)`, {
      hint: 'run it with sudo, or in the docker-compose builder service',
    });
  }
}

export const preflight: Stage = {
  title: 'Preflight: privileges, tools, paths, free space',
  async run(ctx, task) {
    const c = ctx.config;
    requireRoot('remaster build');
    const missing: string[] = [];
    for (const tool of requiredTools(c)) if (!(await which(tool))) missing.push(tool);
    if (missing.length > 0) {
      const pkgs = [...new Set(missing.map((t) => toolPackage(t) ?? t))];
      throw new UsageError(`missing tools: ${missing.join(', ')}`, { hint: `install them: apt-get install ${pkgs.join(' ')}` });
    }
    const { stdout } = await run('xorriso', ['-version'], { signal: ctx.signal });
    const first = stdout.split('\n')[0] ?? '';
    if (!xorrisoVersionOk(first)) {
      throw new UsageError(`xorriso is too old (${first.trim()}): remaster needs 1.5.4 or newer for -boot_image any replay`, {
        hint: 'install xorriso from Debian 12 / Ubuntu 22.04 or newer',
      });
    }
    if (!existsSync('/dev/loop-control')) {
      throw new UsageError('no loop device support (/dev/loop-control is missing)', {
        hint: 'load the loop module (modprobe loop) or run the container with --privileged',
      });
    }
    const out = resolve(c.out);
    const outDir = dirname(out);
    const dirStat = await stat(outDir).catch(() => undefined);
    if (!dirStat?.isDirectory()) {
      throw new UsageError(`output folder ${outDir} does not exist`, { hint: `create it first: mkdir -p ${outDir}` });
    }
    try {
      await access(outDir, constants.W_OK);
    } catch {
      throw new UsageError(`output folder ${outDir} is not writable`, { hint: 'choose another --out' });
    }
    const inReal = await realpath(c.iso).catch(() => resolve(c.iso));
    const outReal = await realpath(out).catch(() => out);
    if (inReal === outReal) {
      throw new UsageError(`--out is the input ISO (${c.iso}): remaster never overwrites its base`, {
        hint: 'write the result to another path',
      });
    }
    const isoBytes = (await stat(c.iso).catch(() => undefined))?.size ?? 0;
    await mkdir(ctx.ws.root, { recursive: true });
    const needs = [
      { dir: outDir, bytes: isoBytes + 1 * GiB, what: 'the output ISO' },
      { dir: ctx.ws.root, bytes: 3 * GiB, what: 'the work directory (engine packages, images, new layer)' },
    ];
    for (const n of needs) {
      const fs = await statfs(n.dir);
      const free = fs.bavail * fs.bsize;
      if (free < n.bytes) {
        throw new RemasterError(`not enough free space in ${n.dir} for ${n.what}: ${gib(free)} free, about ${gib(n.bytes)} needed`, {
          hint: 'free some space or point --out / --work-dir elsewhere',
        });
      }
    }
    task.output = `root, tools present (${first.trim()}), ${gib((await statfs(ctx.ws.root)).bavail * (await statfs(ctx.ws.root)).bsize)} free in work dir`;
  },
};
