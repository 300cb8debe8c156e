// Flags from the settings table: the parseArgs options of a verb, the values they give mapped back to setting keys,
// and the options part of the verb's --help. Nothing here names a setting: adding one to the table is enough.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { parseSetting } from '../config/load.js';
import { SETTINGS, type Setting, type Verb } from '../config/settings.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Options every verb takes. */
const COMMON: Options = { help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' } };

/** The settings a verb has a flag for, in table order. */
export function verbSettings(
  verb: Verb,
  table: readonly Setting[] = SETTINGS,
): { setting: Setting; flag: NonNullable<Setting['flags']>[Verb] & object }[] {
  return table.flatMap((setting) => {
    const flag = setting.flags?.[verb];
    return flag ? [{ setting, flag }] : [];
  });
}

/** parseArgs options of a verb: one per flag, plus its aliases and the common --help and --debug. */
export function parseArgsOptions(verb: Verb, table: readonly Setting[] = SETTINGS): Options {
  const options: Options = { ...COMMON };
  for (const { flag } of verbSettings(verb, table)) {
    const spec = {
      type: flag.arg === undefined ? ('boolean' as const) : ('string' as const),
      ...(flag.short ? { short: flag.short } : {}),
      ...(flag.multiple ? { multiple: true } : {}),
    };
    options[flag.name] = spec;
    for (const alias of flag.aliases ?? []) options[alias] = { type: spec.type, ...(flag.multiple ? { multiple: true } : {}) };
  }
  return options;
}

export interface ParsedFlags {
  /** Setting key -> the value the flags gave (strings as typed; lists for repeatable flags; switches' values). */
  raw: Record<string, unknown>;
  positionals: string[];
  help: boolean;
}

/** Parse argv strictly for a verb and map each flag given to its setting's key. */
export function parseFlags(verb: Verb, argv: readonly string[], table: readonly Setting[] = SETTINGS): ParsedFlags {
  let values: Values;
  let positionals: string[];
  try {
    const r = parseArgs({ args: [...argv], options: parseArgsOptions(verb, table), allowPositionals: true, strict: true });
    values = r.values as Values;
    positionals = r.positionals;
  } catch (e) {
    const name = verb === 'packages' ? 'packages fetch' : verb;
    throw new UsageError(`remaster ${name}: ${(e as Error).message.replace(/\. To specify a positional.*$/s, '')}`, {
      hint: `see: remaster ${name} --help`,
    });
  }
  return { raw: flagsToRaw(verb, values, table), positionals, help: values.help === true };
}

/** Values parseArgs gave -> setting keys. A switch sets its `sets` value (true unless said); an absent flag sets nothing. */
export function flagsToRaw(verb: Verb, values: Values, table: readonly Setting[] = SETTINGS): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const { setting, flag } of verbSettings(verb, table)) {
    const given = [flag.name, ...(flag.aliases ?? [])].map((n) => values[n]).find((v) => v !== undefined);
    if (given === undefined) continue;
    if (flag.arg === undefined) {
      if (given === true) raw[setting.key] = flag.sets ?? true;
    } else if (flag.multiple) {
      const list = (Array.isArray(given) ? given : [given]).filter((x): x is string => typeof x === 'string');
      if (list.length > 0) raw[setting.key] = list;
    } else raw[setting.key] = given;
  }
  return raw;
}

/** The options part of a verb's --help: one entry per flag, its placeholder, its doc and its default. */
export function optionsHelp(verb: Verb, table: readonly Setting[] = SETTINGS): string {
  const rows = verbSettings(verb, table).map(({ setting, flag }) => {
    const left = `${flag.short ? `-${flag.short}, ` : ''}--${flag.name}${flag.arg ? ` ${flag.arg}` : ''}`;
    const shown = typeof setting.default === 'string' || typeof setting.default === 'number' ? setting.default : undefined;
    const dflt =
      shown !== undefined && flag.sets === undefined && !(flag.doc ?? setting.doc).includes('default') ? ` (default ${shown})` : '';
    return { left, text: `${flag.doc ?? setting.doc}${dflt}` };
  });
  const width = Math.min(34, Math.max(...rows.map((r) => r.left.length), 0) + 2);
  const indent = `\n${' '.repeat(width + 2)}`;
  const lines = rows.map((r) => {
    const head = r.left.length + 2 <= width ? `  ${r.left.padEnd(width)}` : `  ${r.left}${indent}`;
    return `${head}${wrap(r.text, 110 - 2 - width).join(indent)}`;
  });
  return `${lines.join('\n')}\n`;
}

/** Words of text in lines of at most `width` characters (a longer first column pushes the text to its own line). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** The table entry of a key (a programming error when missing). */
export function settingOf(key: string, table: readonly Setting[] = SETTINGS): Setting {
  const s = table.find((e) => e.key === key);
  if (!s) throw new Error(`internal: no setting ${key}`);
  return s;
}

/**
 * One setting's value for a verb that is not a build (verify, packages fetch): the flag's value checked as the table
 * checks it, messages naming the flag; else the environment's or the default.
 */
export function flagValue(verb: Verb, key: string, raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): unknown {
  const s = settingOf(key);
  const given = raw[key];
  if (given === undefined) {
    const fromEnv = s.fromEnv?.(env);
    const dflt = typeof s.default === 'function' ? (s.default as (e: NodeJS.ProcessEnv) => unknown)(env) : s.default;
    const value = fromEnv ?? dflt;
    return value === undefined ? undefined : parseSetting(s, value);
  }
  return parseSetting(s, given, `--${s.flags?.[verb]?.name ?? key}`);
}
