// The benchmark's inputs, built from Debian packages and cached by recipe: a realistic base (a live ISO whose
// root is over 1 GB) and a payload of several rootfs images (hundreds of MB together).
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../src/exec/run.js';
import { debianLiveRecipe, type DebianLiveRecipe, ensureDebianLiveIso, removeWorkDir } from '../src/fixture/debian-live.js';
import { runInRoot, withChroot } from '../src/rootfs/chroot.js';
import { aptInstallArgs } from '../src/rootfs/packages.js';

/** The fixture plus a developer's tool set: gcc, clang, Python, git (a root of about 1.5 GB). */
export const benchBaseRecipe: DebianLiveRecipe = Object.freeze({
  ...debianLiveRecipe,
  extraPackages: Object.freeze([
    'build-essential',
    'ca-certificates',
    'clang',
    'curl',
    'gdb',
    'git',
    'iproute2',
    'less',
    'openssh-client',
    'python3',
    'rsync',
    'vim',
  ]),
  volumeId: 'd-live bookworm bench amd64',
});

export interface BenchImageRecipe {
  /** Image name:tag in the payload. */
  ref: string;
  /** Packages added to a minbase debootstrap (no Recommends). */
  packages: readonly string[];
}

/** Three application images of different sizes, each a Debian minbase with its own package set. */
export const benchImages: readonly BenchImageRecipe[] = Object.freeze([
  { ref: 'bench/base:1', packages: [] },
  { ref: 'bench/python:1', packages: ['python3', 'python3-yaml', 'ca-certificates'] },
  { ref: 'bench/toolbox:1', packages: ['git', 'curl', 'perl', 'python3', 'openssh-client', 'ca-certificates'] },
]);

const IMAGE_BUILDER_VERSION = 1;

type LineFn = (line: string) => void;

export interface BenchInputs {
  baseIso: string;
  images: { ref: string; tar: string; bytes: number }[];
}

/** Build (or find) the base ISO and the image tarballs under <cacheDir>/bench and <cacheDir>/base-iso. */
export async function ensureBenchInputs(o: { cacheDir: string; signal?: AbortSignal; onLine?: LineFn }): Promise<BenchInputs> {
  const base = await ensureDebianLiveIso({ cacheDir: o.cacheDir, recipe: benchBaseRecipe, signal: o.signal, onLine: o.onLine });
  const key = createHash('sha256')
    .update(JSON.stringify({ v: IMAGE_BUILDER_VERSION, suite: debianLiveRecipe.suite, mirror: debianLiveRecipe.mirror, benchImages }))
    .digest('hex')
    .slice(0, 16);
  const dir = join(o.cacheDir, 'bench', `images-${key}`);
  await mkdir(dir, { recursive: true });
  const images: BenchInputs['images'] = [];
  for (const img of benchImages) {
    const tar = join(dir, `${img.ref.replace(/[/:]/g, '_')}.tar`);
    const st = await stat(tar).catch(() => undefined);
    if (!st?.size) await buildRootfsTar(img, tar, dir, o);
    images.push({ ref: img.ref, tar, bytes: (await stat(tar)).size });
  }
  return { baseIso: base.path, images };
}

async function buildRootfsTar(img: BenchImageRecipe, out: string, dir: string, o: { signal?: AbortSignal; onLine?: LineFn }) {
  const say = (m: string) => o.onLine?.(`[bench image ${img.ref}] ${m}`);
  const work = await mkdtemp(join(dir, 'work-'));
  const root = join(work, 'root');
  const partial = `${out}.partial`;
  try {
    say('debootstrap --variant=minbase');
    const r = debianLiveRecipe;
    await run('debootstrap', ['--variant=minbase', '--arch=amd64', r.suite, root, r.mirror], {
      signal: o.signal,
      onLine: o.onLine,
      env: { LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (img.packages.length > 0) {
      say(`apt-get install ${img.packages.join(' ')}`);
      await withChroot(root, { signal: o.signal, onLine: o.onLine }, async (s) => {
        await s.run(['apt-get', 'update', '-q']);
        await s.run(aptInstallArgs(img.packages));
      });
    }
    // What a container image does not carry: apt lists and caches.
    await runInRoot(root, ['apt-get', 'clean'], { signal: o.signal });
    for (const d of ['var/lib/apt/lists', 'var/cache/apt']) {
      for (const e of await readdir(join(root, d)).catch(() => [] as string[])) {
        if (e !== 'partial' && e !== 'archives' && e !== 'lock') await rm(join(root, d, e), { recursive: true, force: true });
      }
    }
    say('tar');
    await run('tar', ['--numeric-owner', '--xattrs', '--sort=name', '-C', root, '-cf', partial, '.'], { signal: o.signal });
    await rename(partial, out);
    say(`${out}: ${((await stat(out)).size / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    await rm(partial, { force: true });
    await removeWorkDir(work);
  }
}
