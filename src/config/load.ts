// Build config from a file (YAML or JSON) and flags: validation names the key's path; flags override the file.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../errors.js';
import { validateRun } from '../units/run-units.js';
import { defaultCacheDir } from './paths.js';
import { type ConfigKey, SCHEMA, STORE_DEVICE_PATTERN } from './schema.js';
import type { BuildConfig } from './types.js';
import type { Accel, Compression, Engine, Firmware, ImageSpec, Media, RegistryAuth, RootfsMode, RunSettings } from '../types.js';

/** The keys a config file may hold, with their documentation (from the one schema table). */
export const CONFIG_KEYS: Record<ConfigKey, string> = Object.fromEntries(Object.entries(SCHEMA).map(([k, v]) => [k, v.doc])) as Record<
  ConfigKey,
  string
>;

export type RawConfig = Partial<Record<ConfigKey, unknown>>;

export function readConfigFile(path: string): RawConfig {
  if (!existsSync(path)) throw new UsageError(`config file ${path} does not exist`, { hint: 'check the -c path' });
  let data: unknown;
  try {
    data = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`config file ${path} is not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new UsageError(`config file ${path} must hold a mapping of keys`);
  const raw = data as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!(key in CONFIG_KEYS)) {
      throw new UsageError(`config file ${path}: unknown key "${key}"`, { hint: `known keys: ${Object.keys(CONFIG_KEYS).join(', ')}` });
    }
  }
  // Relative paths in a config file are relative to the file.
  const base = dirname(resolve(path));
  const rel = (v: unknown) => (typeof v === 'string' && !isAbsolute(v) ? resolve(base, v) : v);
  for (const k of ['iso', 'out', 'cacheDir', 'workDir', 'registryAuthFile', 'evidenceDir'] as const) if (k in raw) raw[k] = rel(raw[k]);
  if (Array.isArray(raw.images)) {
    raw.images = raw.images.map((img) => {
      if (typeof img === 'string') return resolveImageString(img, base);
      if (img && typeof img === 'object' && typeof (img as { source?: unknown }).source === 'string') {
        const o = img as { source: string };
        return { ...o, source: resolveImageString(o.source, base) };
      }
      return img;
    });
  }
  return raw as RawConfig;
}

function resolveImageString(s: string, base: string): string {
  const m = /^(docker-archive:|rootfs:|oci-archive:|oci:)?([^=]+)(=.*)?$/.exec(s);
  if (/^(docker:\/\/|docker-daemon:)/.test(s)) return s;
  if (!m) return s;
  const p = m[2] ?? '';
  return `${m[1] ?? ''}${isAbsolute(p) ? p : resolve(base, p)}${m[3] ?? ''}`;
}

function fail(key: string, expected: string, got: unknown): never {
  throw new UsageError(`${key}: expected ${expected}, got ${JSON.stringify(got)}`, {
    hint: `${key} is ${CONFIG_KEYS[key.split(/[.[]/)[0] as keyof typeof CONFIG_KEYS] ?? ''}`,
  });
}

function str(key: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') fail(key, 'a non-empty string', v);
  return v;
}

function oneOf<T extends string>(key: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) fail(key, allowed.map((a) => `"${a}"`).join(' or '), v);
  return v as T;
}

function bool(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(key, 'true or false', v);
  return v;
}

function int(key: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) fail(key, `an integer from ${min} to ${max}`, v);
  return n;
}

export function parseVerify(key: string, v: unknown): Firmware[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : fail(key, '"none", "bios", "uefi", "all" or a list', v);
  const out = new Set<Firmware>();
  for (const [i, item] of list.entries()) {
    const f = oneOf(Array.isArray(v) ? `${key}[${i}]` : key, typeof item === 'string' ? item.trim() : item, [
      'none',
      'bios',
      'uefi',
      'all',
    ] as const);
    if (f === 'all') {
      out.add('bios');
      out.add('uefi');
    } else if (f !== 'none') out.add(f);
  }
  return [...out];
}

/** "cdrom", "usb", "all" or a list (comma-separated or YAML) of those. */
export function parseMedia(key: string, v: unknown): Media[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : fail(key, '"cdrom", "usb", "all" or a list', v);
  const out = new Set<Media>();
  for (const [i, item] of list.entries()) {
    const value = typeof item === 'string' ? item.trim() : item;
    const m = oneOf(Array.isArray(v) ? `${key}[${i}]` : key, value, ['cdrom', 'usb', 'all'] as const);
    if (m === 'all') {
      out.add('cdrom');
      out.add('usb');
    } else out.add(m);
  }
  if (out.size === 0) fail(key, '"cdrom", "usb", "all" or a list', v);
  return [...out];
}

/** Split a trailing "=name:tag" off a source (a name never contains "="). */
function splitName(s: string): [string, string | undefined] {
  const i = s.lastIndexOf('=');
  return i > 0 ? [s.slice(0, i), s.slice(i + 1)] : [s, undefined];
}

/**
 * "app.tar", "docker-archive:app.tar[=name:tag]", "rootfs:root.tar=name:tag", and skopeo's own transports:
 * "docker://reg/app:1", "oci-archive:app.tar[=name:tag]", "oci:dir[:tag]=name:tag", "docker-daemon:app:1".
 */
export function parseImageString(key: string, text: string, name?: string): ImageSpec {
  if (/[\n\r\0]/.test(text)) fail(key, 'a one-line image source', text);
  const [source, inlineRef] = splitName(text);
  const ref = name ?? inlineRef;
  const m = /^(docker-archive|rootfs|oci-archive|oci|docker-daemon):(?!\/\/)(.+)$/.exec(source) ?? /^(docker):\/\/(.+)$/.exec(source);
  const transport = m?.[1] ?? 'docker-archive';
  const location = m ? (m[2] ?? '') : source;
  if (!location) fail(key, 'an image source like app.tar, docker://registry/app:1 or rootfs:root.tar=name:tag', text);
  if (transport === 'docker' || transport === 'docker-daemon') {
    return { kind: 'skopeo', transport, source, ref };
  }
  // File or folder based sources: check them now, before any work.
  const path = transport === 'oci' ? (location.split(':')[0] ?? location) : location;
  if (!existsSync(path))
    throw new UsageError(`${key}: image ${transport === 'oci' ? 'folder' : 'file'} ${path} does not exist`, {
      hint: 'check the path of the image',
    });
  if (transport === 'oci' && !existsSync(`${path}/oci-layout`)) {
    throw new UsageError(`${key}: ${path} is not an OCI layout (no oci-layout file)`, {
      hint: 'point oci: at the folder that holds oci-layout and index.json',
    });
  }
  if (transport === 'oci-archive' || transport === 'oci') return { kind: 'skopeo', transport, source, ref };
  if (transport === 'rootfs') {
    if (!ref) throw new UsageError(`${key}: a rootfs tarball needs a name: rootfs:${path}=<name:tag>`);
    return { kind: 'rootfs', path, ref };
  }
  return { kind: 'docker-archive', path, ref };
}

const IMAGE_KEYS = ['source', 'ref', 'cmd', 'tlsVerify', 'run'];

function parseImage(key: string, v: unknown): ImageSpec {
  if (typeof v === 'string') return parseImageString(key, v);
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!IMAGE_KEYS.includes(k)) throw new UsageError(`${key}.${k}: unknown key`, { hint: `an image takes ${IMAGE_KEYS.join(', ')}` });
    }
    const spec = parseImageString(
      `${key}.source`,
      str(`${key}.source`, o.source),
      o.ref === undefined ? undefined : str(`${key}.ref`, o.ref),
    );
    if (o.tlsVerify !== undefined) {
      if (spec.kind !== 'skopeo' || spec.transport !== 'docker')
        throw new UsageError(`${key}.tlsVerify: only a docker:// registry source takes tlsVerify`);
      spec.tlsVerify = bool(`${key}.tlsVerify`, o.tlsVerify);
    }
    if (spec.kind === 'rootfs' && !spec.ref) throw new UsageError(`${key}.ref: a rootfs tarball needs a name (ref: name:tag)`);
    if (o.run !== undefined) spec.run = parseRun(`${key}.run`, o.run);
    if (o.cmd !== undefined) {
      if (spec.kind !== 'rootfs') throw new UsageError(`${key}.cmd: only a rootfs image takes a command`);
      if (!Array.isArray(o.cmd) || !o.cmd.every((c) => typeof c === 'string')) fail(`${key}.cmd`, 'a list of strings', o.cmd);
      spec.cmd = o.cmd as string[];
    }
    return spec;
  }
  fail(key, 'an image source string or {source, ref, cmd, tlsVerify, run}', v);
}

export function toBuildConfig(raw: RawConfig, env: NodeJS.ProcessEnv = process.env): BuildConfig {
  if (raw.iso === undefined) throw new UsageError('no base ISO given', { hint: 'pass --iso <base.iso> (or iso: in the config file)' });
  if (raw.out === undefined) throw new UsageError('no output path given', { hint: 'pass --out <new.iso> (or out: in the config file)' });
  if (raw.engine === undefined) throw new UsageError('no engine given', { hint: 'pass --engine docker or --engine podman' });
  const images =
    raw.images === undefined
      ? []
      : Array.isArray(raw.images)
        ? raw.images.map((v, i) => parseImage(`images[${i}]`, v))
        : fail('images', 'a list', raw.images);
  if (images.length === 0) throw new UsageError('no images given', { hint: 'pass --image <archive.tar> at least once' });
  const compression = oneOf<Compression>('compression', raw.compression ?? 'zstd', ['zstd', 'gzip', 'xz', 'none']);
  const sde = env.SOURCE_DATE_EPOCH;
  const config: BuildConfig = {
    iso: resolve(str('iso', raw.iso)),
    out: resolve(str('out', raw.out)),
    engine: oneOf<Engine>('engine', raw.engine, ['docker', 'podman']),
    images,
    verify: parseVerify('verify', raw.verify ?? 'bios'),
    verifyMedia: parseMedia('verifyMedia', raw.verifyMedia ?? 'cdrom'),
    evidenceDir: raw.evidenceDir === undefined ? undefined : resolve(str('evidenceDir', raw.evidenceDir)),
    compression: {
      kind: compression,
      level:
        raw.compressionLevel === undefined ? undefined : int('compressionLevel', raw.compressionLevel, 1, compression === 'zstd' ? 22 : 9),
    },
    rootfsMode: oneOf<RootfsMode>('rootfsMode', raw.rootfsMode ?? 'auto', ['auto', 'layer', 'rebuild']),
    squashfsLevel: raw.squashfsLevel === undefined ? undefined : int('squashfsLevel', raw.squashfsLevel, 1, 22),
    extraPackages: raw.extraPackages === undefined ? [] : parsePackages(raw.extraPackages),
    packagesDir: raw.packages === undefined ? undefined : packagesDir(raw.packages),
    deleteAfterLoad: raw.deleteAfterLoad === undefined ? false : bool('deleteAfterLoad', raw.deleteAfterLoad),
    podmanStore: podmanStore(raw),
    tmpfsSize: raw.tmpfsSize === undefined ? '75%' : tmpfsSize(raw.tmpfsSize),
    storeDevice: raw.storeDevice === undefined ? undefined : storeDevice(raw.storeDevice),
    accel: oneOf<Accel>('accel', raw.accel ?? env.REMASTER_ACCEL ?? 'auto', ['auto', 'kvm', 'tcg']),
    verifyTimeout: raw.verifyTimeout === undefined ? undefined : int('verifyTimeout', raw.verifyTimeout, 10, 24 * 3600),
    cacheDir: raw.cacheDir === undefined ? defaultCacheDir(env) : resolve(str('cacheDir', raw.cacheDir)),
    workDir: raw.workDir === undefined ? undefined : resolve(str('workDir', raw.workDir)),
    keepWork: raw.keepWork === undefined ? false : bool('keepWork', raw.keepWork),
    boot: {
      kernelArgs: raw.kernelArgs === undefined ? [] : kernelArgs(raw.kernelArgs),
      serialConsole: raw.serialConsole === undefined ? false : bool('serialConsole', raw.serialConsole),
      menuTitle: raw.menuTitle === undefined ? undefined : menuText('menuTitle', raw.menuTitle, 60, /["\\$\n\r]/),
      menuTimeout: raw.menuTimeout === undefined ? undefined : int('menuTimeout', raw.menuTimeout, 0, 3600),
    },
    diskInfo: raw.diskInfo === undefined ? undefined : menuText('diskInfo', raw.diskInfo, 200, /[\n\r]/),
    resume: raw.resume === undefined ? true : bool('resume', raw.resume),
    engineCache: raw.engineCache === undefined ? true : bool('engineCache', raw.engineCache),
    sourceDateEpoch: sde === undefined || sde === '' ? undefined : int('SOURCE_DATE_EPOCH', sde, 0, 2 ** 40),
    registryAuth: registryAuth(raw, env),
  };
  return Object.freeze(config);
}

function parsePackages(v: unknown): string[] {
  if (!Array.isArray(v)) fail('extraPackages', 'a list of Debian package names', v);
  return v.map((p, i) => {
    const s = str(`extraPackages[${i}]`, p);
    if (!/^[a-z0-9][a-z0-9+.-]+(=[\w.+:~-]+)?$/.test(s)) fail(`extraPackages[${i}]`, 'a Debian package name', p);
    return s;
  });
}

/** Kernel arguments go into GRUB and isolinux files: no spaces, quotes or characters GRUB would expand. */
function kernelArgs(v: unknown): string[] {
  const items = typeof v === 'string' ? [v] : Array.isArray(v) ? v : fail('kernelArgs', 'a list of kernel arguments', v);
  return items.map((a, i) => {
    const s = str(`kernelArgs[${i}]`, a);
    if (!/^[A-Za-z0-9_.,:=/@+-]+$/.test(s))
      fail(`kernelArgs[${i}]`, 'one kernel argument (letters, digits and _.,:=/@+- only, no spaces)', a);
    if (s === '---') fail(`kernelArgs[${i}]`, "a kernel argument (--- separates the installed system's arguments)", a);
    return s;
  });
}

function menuText(key: string, v: unknown, max: number, bad: RegExp): string {
  const s = str(key, v);
  if (s.length === 0 || s.length > max || bad.test(s))
    fail(key, `one line of at most ${max} characters${bad.source.includes('"') ? ' without quotes, backslashes or $' : ''}`, v);
  return s;
}

function storeDevice(v: unknown): string {
  const s = str('storeDevice', v);
  if (!new RegExp(STORE_DEVICE_PATTERN).test(s)) {
    fail('storeDevice', 'LABEL=<label>, UUID=<uuid>, PARTLABEL=<name>, PARTUUID=<uuid> or a /dev/ path (letters, digits, . _ - only)', v);
  }
  return s;
}

function tmpfsSize(v: unknown): string {
  const s = str('tmpfsSize', v);
  if (!/^(\d{1,3}%|\d+[kKmMgG]?)$/.test(s)) fail('tmpfsSize', 'a size like "75%", "4G" or "512M"', v);
  return s;
}

function registryAuth(raw: RawConfig, env: NodeJS.ProcessEnv): RegistryAuth {
  const file = raw.registryAuthFile === undefined ? env.REMASTER_REGISTRY_AUTH_FILE : str('registryAuthFile', raw.registryAuthFile);
  if (file) {
    if (!existsSync(file))
      throw new UsageError(`registry auth file ${file} does not exist`, { hint: 'check registryAuthFile / REMASTER_REGISTRY_AUTH_FILE' });
    return { file };
  }
  return { username: env.REMASTER_REGISTRY_USER || undefined, password: env.REMASTER_REGISTRY_PASSWORD || undefined };
}

const RUN_KEYS = ['name', 'command', 'ports', 'env', 'volumes', 'restart', 'network', 'checkPort'];

function strings(key: string, v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail(key, 'a list of strings', v);
  return v as string[];
}

function parseRun(key: string, v: unknown): RunSettings {
  if (!v || typeof v !== 'object' || Array.isArray(v))
    fail(key, 'a mapping (name, command, ports, env, volumes, restart, network, checkPort)', v);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!RUN_KEYS.includes(k)) throw new UsageError(`${key}.${k}: unknown key`, { hint: `run takes ${RUN_KEYS.join(', ')}` });
  return validateRun(key, {
    name: str(`${key}.name`, o.name),
    command: strings(`${key}.command`, o.command),
    ports: strings(`${key}.ports`, o.ports),
    env: strings(`${key}.env`, o.env),
    volumes: strings(`${key}.volumes`, o.volumes),
    restart: o.restart === undefined ? undefined : oneOf(`${key}.restart`, o.restart, ['no', 'always', 'on-failure'] as const),
    network: o.network === undefined ? undefined : oneOf(`${key}.network`, o.network, ['host', 'bridge'] as const),
    checkPort: o.checkPort === undefined ? undefined : int(`${key}.checkPort`, o.checkPort, 1, 65535),
  });
}

function packagesDir(v: unknown): string {
  const dir = resolve(str('packages', v));
  if (!existsSync(dir))
    throw new UsageError(`package folder ${dir} does not exist`, {
      hint: 'make it with: remaster packages fetch --engine <engine> --iso <base> --out <dir>',
    });
  return dir;
}

function podmanStore(raw: RawConfig): 'load' | 'ready' {
  const v = oneOf('podmanStore', raw.podmanStore ?? 'load', ['load', 'ready'] as const);
  if (v === 'ready' && raw.engine !== 'podman') {
    throw new UsageError('podmanStore: ready needs --engine podman', {
      hint: 'docker always loads at boot: a pre-filled /var/lib/docker is bound to one storage driver and docker version',
    });
  }
  return v;
}
