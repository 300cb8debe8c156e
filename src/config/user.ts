// User defaults kept by conf (~/.config/remaster/config.json): cache dir, default engine, verify firmware,
// accelerator. Precedence: flags > config file > these > built-in defaults.
import Conf from 'conf';
import { UsageError } from '../errors.js';
import { FIRMWARE_VALUES } from './schema.js';

export interface UserDefaults {
  cacheDir?: string;
  engine?: 'docker' | 'podman';
  verify?: string;
  accel?: 'auto' | 'kvm' | 'tcg';
}

export const USER_KEYS: Record<keyof UserDefaults, { doc: string; check: (v: string) => boolean; expected: string }> = {
  cacheDir: { doc: 'cache directory', check: (v) => v.startsWith('/'), expected: 'an absolute path' },
  engine: { doc: 'default --engine', check: (v) => v === 'docker' || v === 'podman', expected: 'docker or podman' },
  verify: {
    doc: 'default --verify',
    check: (v) => v.split(',').every((f) => (FIRMWARE_VALUES as readonly string[]).includes(f)),
    expected: 'none, bios, uefi, all or a comma list',
  },
  accel: { doc: 'default --accel', check: (v) => ['auto', 'kvm', 'tcg'].includes(v), expected: 'auto, kvm or tcg' },
};

/** The store; REMASTER_CONFIG_DIR moves it (tests, CI). */
export function userStore(env: NodeJS.ProcessEnv = process.env): Conf<UserDefaults> {
  return new Conf<UserDefaults>({
    projectName: 'remaster',
    projectSuffix: '',
    ...(env.REMASTER_CONFIG_DIR ? { cwd: env.REMASTER_CONFIG_DIR } : {}),
    configFileMode: 0o600,
  });
}

export function isUserKey(key: string): key is keyof UserDefaults {
  return key in USER_KEYS;
}

export function setUserDefault(store: Conf<UserDefaults>, key: string, value: string): void {
  if (!isUserKey(key)) throw new UsageError(`unknown setting "${key}"`, { hint: `settings: ${Object.keys(USER_KEYS).join(', ')}` });
  const spec = USER_KEYS[key];
  if (!spec.check(value)) throw new UsageError(`${key}: expected ${spec.expected}, got ${JSON.stringify(value)}`);
  store.set(key, value as never);
}

/** The defaults as a partial raw config, read leniently: a value no longer valid is ignored. */
export function userDefaults(env: NodeJS.ProcessEnv = process.env): UserDefaults {
  try {
    const all = userStore(env).store;
    const out: UserDefaults = {};
    for (const key of Object.keys(USER_KEYS) as (keyof UserDefaults)[]) {
      const v = all[key];
      if (typeof v === 'string' && USER_KEYS[key].check(v)) out[key] = v as never;
    }
    return out;
  } catch {
    return {};
  }
}
