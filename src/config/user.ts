// User defaults kept by conf (~/.config/remaster/config.json) for the settings the table marks `userDefault`
// (cache dir, engine, verify firmware, accelerator). Precedence: flags > config file > these > built-in defaults.
import Conf from 'conf';
import { UsageError } from '../errors.js';
import { parseSetting, type RawConfig } from './load.js';
import { SETTINGS, type Setting } from './settings.js';

export type UserDefaults = Record<string, string>;

/** The settings a user default may be kept for. */
export function userSettings(table: readonly Setting[] = SETTINGS): Setting[] {
  return table.filter((s) => s.userDefault);
}

/** The store; REMASTER_CONFIG_DIR moves it (tests, CI). */
export function userStore(env: NodeJS.ProcessEnv = process.env): Conf<UserDefaults> {
  return new Conf<UserDefaults>({
    projectName: 'remaster',
    projectSuffix: '',
    ...(env.REMASTER_CONFIG_DIR ? { cwd: env.REMASTER_CONFIG_DIR } : {}),
    configFileMode: 0o600,
  });
}

export function userSetting(key: string): Setting | undefined {
  return userSettings().find((s) => s.key === key);
}

/** Keep a default, checked as the setting checks a value (an absolute path for cacheDir). */
export function setUserDefault(store: Conf<UserDefaults>, key: string, value: string): void {
  const s = userSetting(key);
  if (!s)
    throw new UsageError(`unknown setting "${key}"`, {
      hint: `settings: ${userSettings()
        .map((u) => u.key)
        .join(', ')}`,
    });
  if (s.paths === 'path' && !value.startsWith('/')) throw new UsageError(`${key}: expected an absolute path, got ${JSON.stringify(value)}`);
  parseSetting(s, value);
  store.set(key, value);
}

/** The defaults as a partial raw config, read leniently: a value no longer valid is ignored. */
export function userDefaults(env: NodeJS.ProcessEnv = process.env): RawConfig {
  try {
    const all = userStore(env).store;
    const out: RawConfig = {};
    for (const s of userSettings()) {
      const v = all[s.key];
      if (typeof v !== 'string') continue;
      try {
        parseSetting(s, v);
        out[s.key] = v;
      } catch {}
    }
    return out;
  } catch {
    return {};
  }
}
