// The cached Debian live fixture ISO (built from Debian packages on first use) and small helpers for CLI tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultCacheDir } from '../../src/config/paths.js';
import { type CasperShape, ensureCasperIso } from '../../src/fixture/casper.js';
import {
  type DebianLiveRecipe,
  debianInstallerRecipe,
  debianLiveRecipe,
  debianNetinstRecipe,
  ensureDebianLiveIso,
} from '../../src/fixture/debian-live.js';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { ensureRecompressedIso } from '../../src/fixture/recompress.js';
import { CLI } from './paths.js';

const recipeIsos = new Map<DebianLiveRecipe, Promise<string>>();

/** A fixture ISO built from a recipe, once per test process and cache; its build lines go to stderr under label. */
function recipeIso(recipe: DebianLiveRecipe, label: string): Promise<string> {
  let p = recipeIsos.get(recipe);
  if (!p) {
    p = ensureDebianLiveIso({ cacheDir: defaultCacheDir(), recipe, onLine: (l) => process.stderr.write(`${label}: ${l}\n`) }).then(
      (r) => r.path,
    );
    recipeIsos.set(recipe, p);
  }
  return p;
}

/** Path of the fixture ISO; builds it once per cache (about 10 minutes the first time). */
export function fixtureIso(): Promise<string> {
  return recipeIso(debianLiveRecipe, 'fixture');
}

/** Path of the installer fixture ISO (Debian live + d-i live-installer, trixie); built once per cache. */
export function installerFixtureIso(): Promise<string> {
  return recipeIso(debianInstallerRecipe, 'installer fixture');
}

/** Path of the netinst fixture ISO (Debian's netinst shape: d-i debootstraps from the medium's pool, trixie). */
export function netinstFixtureIso(): Promise<string> {
  return recipeIso(debianNetinstRecipe, 'netinst fixture');
}

let xzFixture: Promise<string> | undefined;

/** The fixture with its root squashfs in xz, as Debian's and Ubuntu's own media ship it (minutes, once per cache). */
export function xzFixtureIso(): Promise<string> {
  xzFixture ??= fixtureIso().then(async (iso) => {
    const r = await ensureRecompressedIso({ iso, compression: 'xz', onLine: (l) => process.stderr.write(`xz fixture: ${l}\n`) });
    return r.path;
  });
  return xzFixture;
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** An empty user-defaults folder, so a developer's `remaster config set` never changes what tests see. */
const CONFIG_DIR = mkdtempSync(join(tmpdir(), 'remaster-userconf-'));

export function cli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60 * 60 * 1000): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, REMASTER_CONFIG_DIR: CONFIG_DIR, ...env },
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Mount points below dir that are still there (none may be left after any run). */
export function mountsBelow(dir: string): string[] {
  const r = spawnSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((m) => m.startsWith(dir));
}

const casper = new Map<string, Promise<string>>();

/** Path of an Ubuntu-shaped (casper) fixture ISO made from the Debian fixture (seconds, once per cache). */
export function casperIso(shape: CasperShape): Promise<string> {
  let p = casper.get(shape);
  if (!p) {
    p = ensureCasperIso({ cacheDir: defaultCacheDir(), shape, onLine: (l) => process.stderr.write(`fixture: ${l}\n`) }).then((r) => r.path);
    casper.set(shape, p);
  }
  return p;
}

let busybox: Promise<string> | undefined;

/** `--image` for a 2 MiB busybox image made from the host's busybox binary, once per test process. */
export function busyboxImageArg(): Promise<string> {
  busybox ??= (async () => {
    const tar = join(mkdtempSync(join(tmpdir(), 'remaster-busybox-img-')), 'busybox-rootfs.tar');
    await writeBusyboxRootfs(tar);
    return `rootfs:${tar}=demo/busybox:1`;
  })();
  return busybox;
}
