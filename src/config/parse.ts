// Value parsers for settings: each takes what a config file or a flag gave (unknown) and the key's path for the
// message, and returns the typed value or throws a UsageError that names the key and what was expected. The settings
// table (settings.ts) adds the hint "<key> is <its doc>" to errors that carry none.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { Firmware, ImageSpec, Media, RunSettings } from '../types.js';
import { validateRun } from '../units/run-units.js';

export function fail(key: string, expected: string, got: unknown): never {
  throw new UsageError(`${key}: expected ${expected}, got ${JSON.stringify(got)}`);
}

export function str(key: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') fail(key, 'a non-empty string', v);
  return v;
}

/** A path; relative ones are resolved against the working folder (a config file's own are resolved on reading). */
export function path(key: string, v: unknown): string {
  return resolve(str(key, v));
}

export function oneOf<T extends string>(key: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) fail(key, allowed.map((a) => `"${a}"`).join(' or '), v);
  return v as T;
}

export function bool(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(key, 'true or false', v);
  return v;
}

/** An integer in [min, max]; flags give strings of digits. */
export function int(key: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) fail(key, `an integer from ${min} to ${max}`, v);
  return n;
}

/** A string matching a pattern (values that reach shell scripts, unit files or boot menus). */
export function matching(key: string, v: unknown, pattern: RegExp, expected: string): string {
  const s = str(key, v);
  if (!pattern.test(s)) fail(key, expected, v);
  return s;
}

/** "none", "bios", "uefi", "uefi-sb", "all" (bios and uefi) or a list (comma-separated or YAML) of those. */
export function parseVerify(key: string, v: unknown): Firmware[] {
  const list = Array.isArray(v)
    ? v
    : typeof v === 'string'
      ? v.split(',')
      : fail(key, '"none", "bios", "uefi", "uefi-sb", "all" or a list', v);
  const out = new Set<Firmware>();
  for (const [i, item] of list.entries()) {
    const f = oneOf(Array.isArray(v) ? `${key}[${i}]` : key, typeof item === 'string' ? item.trim() : item, [
      'none',
      'bios',
      'uefi',
      'uefi-sb',
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

/** The images list: strings and {source, ref, cmd, tlsVerify, run} objects. */
export function parseImages(key: string, v: unknown): ImageSpec[] {
  if (!Array.isArray(v)) fail(key, 'a list', v);
  return v.map((item, i) => parseImage(`${key}[${i}]`, item));
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

/** Debian package names (optionally =version), as apt takes them. */
export function packageNames(key: string, v: unknown): string[] {
  if (!Array.isArray(v)) fail(key, 'a list of Debian package names', v);
  return v.map((p, i) => {
    const s = str(`${key}[${i}]`, p);
    if (!/^[a-z0-9][a-z0-9+.-]+(=[\w.+:~-]+)?$/.test(s)) fail(`${key}[${i}]`, 'a Debian package name', p);
    return s;
  });
}

/** Kernel arguments go into GRUB and isolinux files: no spaces, quotes or characters GRUB would expand. */
export function kernelArgs(key: string, v: unknown): string[] {
  const items = typeof v === 'string' ? [v] : Array.isArray(v) ? v : fail(key, 'a list of kernel arguments', v);
  return items.map((a, i) => {
    const s = str(`${key}[${i}]`, a);
    if (!/^[A-Za-z0-9_.,:=/@+-]+$/.test(s)) fail(`${key}[${i}]`, 'one kernel argument (letters, digits and _.,:=/@+- only, no spaces)', a);
    if (s === '---') fail(`${key}[${i}]`, "a kernel argument (--- separates the installed system's arguments)", a);
    return s;
  });
}

/** One line of text for a boot menu or .disk/info. */
export function menuText(key: string, v: unknown, max: number, bad: RegExp): string {
  const s = str(key, v);
  if (s.length === 0 || s.length > max || bad.test(s))
    fail(key, `one line of at most ${max} characters${bad.source.includes('"') ? ' without quotes, backslashes or $' : ''}`, v);
  return s;
}

/** A file that must exist now. */
export function existingFile(key: string, v: unknown): string {
  const file = path(key, v);
  if (!existsSync(file)) throw new UsageError(`${key}: file ${file} does not exist`, { hint: `check the path given for ${key}` });
  return file;
}

/** A folder that must exist now. */
export function existingFolder(key: string, v: unknown, hint: string): string {
  const dir = path(key, v);
  if (!existsSync(dir)) throw new UsageError(`${key === 'packages' ? 'package folder' : `${key}: folder`} ${dir} does not exist`, { hint });
  return dir;
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
