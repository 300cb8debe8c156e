// Build config from a file (YAML or JSON), flags and the environment, through the settings table: validation names
// the key's path, flags win over the file, the file over user defaults, those over the environment and defaults.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../errors.js';
import type { RegistryAuth } from '../types.js';
import { type BuildSettings, SETTINGS, type Setting } from './settings.js';

/** What the build reads: every setting of the table, and the registry credentials (from the environment only). */
export type BuildConfig = BuildSettings & { readonly registryAuth: RegistryAuth };

/** Config keys as given (a file's mapping, flags, user defaults), before checking. */
export type RawConfig = Record<string, unknown>;

/** The settings a config file may hold: those with a JSON Schema. */
export function fileSettings(table: readonly Setting[] = SETTINGS): Setting[] {
  return table.filter((s) => s.schema !== undefined);
}

export function readConfigFile(path: string, table: readonly Setting[] = SETTINGS): RawConfig {
  if (!existsSync(path)) throw new UsageError(`config file ${path} does not exist`, { hint: 'check the -c path' });
  let data: unknown;
  try {
    data = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`config file ${path} is not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new UsageError(`config file ${path} must hold a mapping of keys`);
  const raw = data as RawConfig;
  const known = new Map(fileSettings(table).map((s) => [s.key, s]));
  for (const s of known.values()) {
    for (const former of s.formerKeys ?? []) {
      if (!(former in raw)) continue;
      if (s.key in raw)
        throw new UsageError(`config file ${path}: both "${former}" and "${s.key}" are set`, {
          hint: `"${former}" is the earlier name of "${s.key}": keep one`,
        });
      raw[s.key] = raw[former];
      delete raw[former];
    }
  }
  for (const key of Object.keys(raw)) {
    if (!known.has(key))
      throw new UsageError(`config file ${path}: unknown key "${key}"`, { hint: `known keys: ${[...known.keys()].join(', ')}` });
  }
  // Relative paths in a config file are relative to the file, in its variants too.
  const base = dirname(resolve(path));
  resolvePaths(raw, known, base);
  if (Array.isArray(raw.variants)) {
    for (const v of raw.variants) if (v && typeof v === 'object' && !Array.isArray(v)) resolvePaths(v as RawConfig, known, base);
  }
  return raw;
}

function resolvePaths(raw: RawConfig, known: ReadonlyMap<string, Setting>, base: string): void {
  for (const [key, s] of known) {
    if (!(key in raw)) continue;
    if (s.paths === 'path' && typeof raw[key] === 'string' && !isAbsolute(raw[key])) raw[key] = resolve(base, raw[key]);
    if (s.paths === 'images' && Array.isArray(raw[key])) raw[key] = raw[key].map((img: unknown) => resolveImage(img, base));
  }
}

/** One build of a variants file: its name and its keys (the file's, then the entry's, then the flags'). */
export interface VariantRaw {
  name: string;
  raw: RawConfig;
}

/** Keys a variant cannot set: they describe the run, not one build. */
const RUN_KEYS = ['variants', 'config', 'cacheDir'];

/**
 * The builds a config with `variants:` asks for, or undefined without it. Each entry's keys win over the file's, and
 * flags (given) over both; every key must be a config key, every variant needs its own out and name. Refused as a
 * whole (exit 2, before any work) when the list is malformed: a mistake there is one the user fixes in one place.
 */
export function expandVariants(raw: RawConfig, given: RawConfig = {}, table: readonly Setting[] = SETTINGS): VariantRaw[] | undefined {
  const list = raw.variants;
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || list.length === 0)
    throw new UsageError('variants must be a list of mappings, one per build', { hint: 'variants: [{ out: a.iso, images: [...] }, ...]' });
  if (given.out !== undefined)
    throw new UsageError('--out with variants: each variant has its own out', {
      hint: 'set out in each entry of variants:, not on the command line',
    });
  const known = new Set(fileSettings(table).map((s) => s.key));
  const { variants: _list, ...shared } = raw;
  const out: VariantRaw[] = [];
  for (const [i, entry] of list.entries()) {
    const where = `variants[${i}]`;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry))
      throw new UsageError(`${where} must be a mapping of keys`, { hint: 'each variant is { out: ..., images: [...], ... }' });
    const { name, ...keys } = entry as RawConfig;
    for (const key of Object.keys(keys)) {
      if (RUN_KEYS.includes(key) || !known.has(key))
        throw new UsageError(`${where}: ${RUN_KEYS.includes(key) ? `"${key}" is set once for the whole run` : `unknown key "${key}"`}`, {
          hint: RUN_KEYS.includes(key)
            ? `move ${key} out of variants:`
            : `known keys: ${[...known].filter((k) => !RUN_KEYS.includes(k)).join(', ')}`,
        });
    }
    if (typeof keys.out !== 'string')
      throw new UsageError(`${where} has no out`, { hint: 'each variant writes its own ISO: give it out: <file.iso>' });
    const label = name === undefined ? basename(keys.out).replace(/\.iso$/i, '') : name;
    if (typeof label !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(label))
      throw new UsageError(`${where}: name ${JSON.stringify(label)} is not a simple name`, { hint: 'letters, digits, . _ - (up to 63)' });
    const merged: RawConfig = { ...shared, ...keys };
    for (const [k, v] of Object.entries(given)) if (v !== undefined) merged[k] = v;
    out.push({ name: label, raw: merged });
  }
  const seen = new Map<string, string>();
  for (const v of out) {
    const o = resolve(String(v.raw.out));
    const other = seen.get(o);
    if (other !== undefined)
      throw new UsageError(`variants ${other} and ${v.name} both write ${o}`, { hint: 'give each variant its own out' });
    seen.set(o, v.name);
  }
  if (new Set(out.map((v) => v.name)).size < out.length)
    throw new UsageError('two variants have the same name', { hint: 'names label the report: make them unique' });
  return out;
}

function resolveImage(img: unknown, base: string): unknown {
  if (typeof img === 'string') return resolveImageString(img, base);
  if (img && typeof img === 'object' && typeof (img as { source?: unknown }).source === 'string') {
    const o = img as { source: string };
    return { ...o, source: resolveImageString(o.source, base) };
  }
  return img;
}

function resolveImageString(s: string, base: string): string {
  const m = /^(docker-archive:|rootfs:|oci-archive:|oci:)?([^=]+)(=.*)?$/.exec(s);
  if (/^(docker:\/\/|docker-daemon:)/.test(s)) return s;
  if (!m) return s;
  const p = m[2] ?? '';
  return `${m[1] ?? ''}${isAbsolute(p) ? p : resolve(base, p)}${m[3] ?? ''}`;
}

/** Parse one setting's value; an error without a hint gets "<key> is <what the setting is>". */
export function parseSetting(s: Setting, value: unknown, where: string = s.key): unknown {
  try {
    return s.parse(where, value);
  } catch (e) {
    if (e instanceof UsageError && e.hint === undefined) throw new UsageError(e.message, { hint: `${s.key} is ${s.doc}`, cause: e.cause });
    throw e;
  }
}

/** A setting's value when nothing sets it: the environment's, else its default. */
export function unsetValue(s: Setting, env: NodeJS.ProcessEnv): unknown {
  const fromEnv = s.fromEnv?.(env);
  if (fromEnv !== undefined) return fromEnv;
  return typeof s.default === 'function' ? (s.default as (e: NodeJS.ProcessEnv) => unknown)(env) : s.default;
}

export interface ToBuildConfigOptions {
  /** Required settings this use does without (packages fetch has no images): they take their default. */
  waive?: readonly string[];
  table?: readonly Setting[];
}

/** Check a raw config against the table and return the frozen build config. */
export function toBuildConfig(raw: RawConfig, env: NodeJS.ProcessEnv = process.env, o: ToBuildConfigOptions = {}): BuildConfig {
  const table: readonly Setting[] = o.table ?? SETTINGS;
  const out: Record<string, unknown> = {};
  for (const s of table) {
    if (s.cli || s.expands) continue;
    const given = raw[s.key];
    const missing = given === undefined || (Array.isArray(given) && given.length === 0);
    if (missing && s.required && !o.waive?.includes(s.key)) throw new UsageError(s.required.message, { hint: s.required.hint });
    const value = given === undefined ? unsetValue(s, env) : given;
    out[s.key] = value === undefined ? undefined : parseSetting(s, value);
  }
  for (const s of table) if (!s.cli && !s.expands) s.check?.(out);
  out.registryAuth = registryAuth(out.registryAuthFile as string | undefined, env);
  return Object.freeze(out) as BuildConfig;
}

function registryAuth(file: string | undefined, env: NodeJS.ProcessEnv): RegistryAuth {
  if (file) return { file };
  return { username: env.REMASTER_REGISTRY_USER || undefined, password: env.REMASTER_REGISTRY_PASSWORD || undefined };
}
