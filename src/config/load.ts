// Build config from a file (YAML or JSON), flags and the environment, through the settings table: validation names
// the key's path, flags win over the file, the file over user defaults, those over the environment and defaults.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
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
  // Relative paths in a config file are relative to the file.
  const base = dirname(resolve(path));
  for (const [key, s] of known) {
    if (!(key in raw)) continue;
    if (s.paths === 'path' && typeof raw[key] === 'string' && !isAbsolute(raw[key])) raw[key] = resolve(base, raw[key]);
    if (s.paths === 'images' && Array.isArray(raw[key])) raw[key] = raw[key].map((img: unknown) => resolveImage(img, base));
  }
  return raw;
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
    if (s.cli) continue;
    const given = raw[s.key];
    const missing = given === undefined || (Array.isArray(given) && given.length === 0);
    if (missing && s.required && !o.waive?.includes(s.key)) throw new UsageError(s.required.message, { hint: s.required.hint });
    const value = given === undefined ? unsetValue(s, env) : given;
    out[s.key] = value === undefined ? undefined : parseSetting(s, value);
  }
  for (const s of table) if (!s.cli) s.check?.(out);
  out.registryAuth = registryAuth(out.registryAuthFile as string | undefined, env);
  return Object.freeze(out) as BuildConfig;
}

function registryAuth(file: string | undefined, env: NodeJS.ProcessEnv): RegistryAuth {
  if (file) return { file };
  return { username: env.REMASTER_REGISTRY_USER || undefined, password: env.REMASTER_REGISTRY_PASSWORD || undefined };
}
