// The root a netinst or DVD image installs, made on the build host as d-i's bootstrap-base makes it: debootstrap (its
// default variant, priority required and important) from the medium's own package pool, the files it needs taken out
// with xorriso. It stands in for the live root such a base lacks: the engine is resolved and installed against it (so
// the .deb set on the medium is exactly what an installed system lacks), and the installer's late command is replayed
// on a copy of it. Cached as a squashfs per pool (its Release file's sha256, which covers every Packages index) and
// mirror, so only the first build pays.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { RemasterError, ToolError } from '../errors.js';
import { run } from '../exec/run.js';
import { readIsoTexts, xorrisoExtract } from '../iso/xorriso.js';
import { indent } from '../util/format.js';
import { cacheLockFile, withLock } from '../util/lock.js';
import { contentKey } from '../util/hash.js';
import { removeTree, sweepMounts } from './mounts.js';
import { mksquashfs } from './squashfs.js';

/** Bump when the steps below change what the root holds. */
const INSTALL_ROOT_VERSION = 1;

export interface InstallRootOptions {
  iso: string;
  /** dists/<suite>: the codename d-i installs. */
  suite: string;
  /** The pool's Release file on the medium. */
  release: string;
  /** Where the engine's packages come from later (the root's sources.list); the medium has no engine. */
  mirror: string;
  cacheDir: string;
  signal?: AbortSignal | undefined;
  onLine?: ((line: string) => void) | undefined;
}

export interface InstallRoot {
  /** The squashfs image of the root. */
  file: string;
  bytes: number;
  key: string;
  built: boolean;
}

/** The apt source the root gets: the mirror, for the engine's packages (the medium's pool is what it was made from). */
export function installRootSources(mirror: string, suite: string): string {
  return `# remaster: the engine's packages come from here; the base system came from the installer medium's pool\ndeb ${mirror} ${suite} main\n`;
}

export async function ensureInstallRoot(o: InstallRootOptions): Promise<InstallRoot> {
  const dir = join(o.cacheDir, 'install-root');
  await mkdir(dir, { recursive: true });
  // The Release lists the sha256 of every Packages index: it identifies the pool.
  const release = (await readIsoTexts(o.iso, [o.release], { signal: o.signal })).get(o.release) ?? '';
  const releaseSha = createHash('sha256').update(release).digest('hex');
  const key = contentKey({ v: INSTALL_ROOT_VERSION, suite: o.suite, release: releaseSha, mirror: o.mirror });
  const file = join(dir, `${o.suite}-${key}.squashfs`);
  const done = async (built: boolean): Promise<InstallRoot> => ({ file, bytes: (await stat(file)).size, key, built });
  if (existsSync(file)) return done(false);
  return withLock(
    cacheLockFile(o.cacheDir, `install-root-${key}`),
    { signal: o.signal, onWait: o.onLine, what: `the installed-system root ${key}` },
    async () => {
      if (existsSync(file)) return done(false);
      const work = await mkdtemp(join(dir, `work-${key}-`));
      try {
        const medium = join(work, 'medium');
        const root = join(work, 'root');
        await mkdir(medium);
        o.onLine?.(`the files debootstrap needs from the medium's pool`);
        await extractBaseSystem(o, medium, join(work, 'probe'));
        o.onLine?.(`debootstrap ${o.suite} from the medium's pool (what d-i installs as the base system)`);
        await debootstrapFromMedium(o.suite, root, medium, o);
        await writeFile(join(root, 'etc/apt/sources.list'), installRootSources(o.mirror, o.suite));
        // debootstrap leaves the .debs it installed: the root is what an installed system holds, not its downloads.
        await run('find', [join(root, 'var/cache/apt/archives'), '-maxdepth', '1', '-name', '*.deb', '-delete'], { signal: o.signal });
        await rm(join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
        await mkdir(join(root, 'var/lib/apt/lists/partial'), { recursive: true });
        const partial = `${file}.partial`;
        o.onLine?.('the installed-system root as squashfs (cached)');
        await mksquashfs({ source: root, target: partial, compression: 'zstd', level: 3, blockSize: 1024 * 1024 }, { signal: o.signal });
        await rename(partial, file);
      } finally {
        await removeTree(work);
      }
      return done(true);
    },
  );
}

/**
 * A local mirror holding just what debootstrap reads: the medium's dists/ and the pool files of the packages it
 * would install (debootstrap --print-debs names them). No iso9660 mount (many kernels and containers lack it), and
 * no copy of a DVD's whole pool.
 */
async function extractBaseSystem(o: InstallRootOptions, medium: string, probe: string): Promise<void> {
  await xorrisoExtract(o.iso, [{ from: '/dists', to: join(medium, 'dists') }], { signal: o.signal });
  const args = ['--no-check-gpg', '--arch=amd64', '--components=main'];
  const printed = await run('debootstrap', ['--print-debs', ...args, o.suite, probe, `file://${medium}`], {
    signal: o.signal,
    env: { LC_ALL: 'C' },
    hint: `d-i installs ${o.suite}'s base system from this pool; debootstrap could not read it: the medium is incomplete`,
  });
  await sweepMounts(await realpath(probe).catch(() => probe));
  const wanted = new Set(printed.stdout.split(/\s+/).filter(Boolean));
  const files = poolFiles(await packagesIndex(join(medium, 'dists', o.suite, 'main', 'binary-amd64')), wanted);
  const missing = [...wanted].filter((p) => !files.has(p));
  if (missing.length > 0) {
    throw new RemasterError(`${o.iso}: the pool lacks base-system packages debootstrap needs: ${missing.slice(0, 8).join(', ')}`, {
      hint: `d-i could not install ${o.suite} from this medium either; use a complete netinst or DVD image`,
    });
  }
  await xorrisoExtract(
    o.iso,
    [...files.values()].map((f) => ({ from: `/${f}`, to: join(medium, f) })),
    { signal: o.signal },
  );
}

/** The text of a Packages index: plain, .gz or .xz, whichever the medium has. */
async function packagesIndex(dir: string): Promise<string> {
  const plain = await readFile(join(dir, 'Packages'), 'utf8').catch(() => undefined);
  if (plain !== undefined) return plain;
  if (existsSync(join(dir, 'Packages.gz'))) return gunzipSync(await readFile(join(dir, 'Packages.gz'))).toString('utf8');
  if (existsSync(join(dir, 'Packages.xz'))) return (await run('xz', ['-dc', join(dir, 'Packages.xz')])).stdout;
  throw new RemasterError(`no Packages index in ${dir} of the medium`, { hint: 'the medium is incomplete or damaged' });
}

/** Package name -> pool file (relative to the medium) for the wanted packages of a Packages index. */
export function poolFiles(index: string, wanted: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const stanza of index.split(/\n\s*\n/)) {
    const pkg = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    const file = /^Filename:\s*(\S+)/m.exec(stanza)?.[1];
    if (pkg && file && wanted.has(pkg) && !out.has(pkg)) out.set(pkg, file);
  }
  return out;
}

async function debootstrapFromMedium(suite: string, root: string, medium: string, o: InstallRootOptions): Promise<void> {
  try {
    // --no-check-gpg: the pool is the user's own input, read from a local file; d-i checks it on site the way the
    // medium asks (Debian's images are signed).
    await run('debootstrap', ['--no-check-gpg', '--arch=amd64', '--components=main', suite, root, `file://${medium}`], {
      signal: o.signal,
      onLine: o.onLine,
      env: { LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' },
      hint: `d-i installs ${suite}'s base system from this pool; debootstrap could not: the medium is incomplete`,
    });
  } catch (e) {
    if (e instanceof ToolError) {
      const log = await readFile(join(root, 'debootstrap', 'debootstrap.log'), 'utf8').catch(() => '');
      const tail = log.trimEnd().split('\n').slice(-12).join('\n');
      if (tail) {
        throw new RemasterError(`debootstrap of ${suite} from ${o.iso}'s pool failed\n  debootstrap.log (tail):\n${indent(tail)}`, {
          hint: `d-i installs the base system from this pool the same way: the medium is incomplete (is it a netinst or DVD image of ${suite}?)`,
          cause: e,
        });
      }
    }
    throw e;
  } finally {
    await sweepMounts(await realpath(root).catch(() => root));
  }
}
