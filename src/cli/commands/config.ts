// remaster config list | get | set | unset: the user defaults the settings table allows (cacheDir, engine, verify,
// accel), kept by conf and checked as the table checks them.
import { setUserDefault, userSetting, userSettings, userStore } from '../../config/user.js';
import { ExitCode, UsageError } from '../../errors.js';
import { printHelp } from './help.js';

export function configCommand(argv: string[]): number {
  const [sub, key, value, extra] = argv;
  const store = userStore();
  const keys = userSettings().map((s) => s.key);
  const hint = `keys: ${keys.join(', ')}`;
  switch (sub) {
    case 'list':
      for (const s of userSettings()) {
        const v = store.get(s.key);
        process.stdout.write(`${s.key}=${v ?? ''}${v === undefined ? `  (unset: default --${s.flags?.build?.name ?? s.key})` : ''}\n`);
      }
      process.stdout.write(`# ${store.path}\n`);
      return ExitCode.ok;
    case 'get':
      if (!key || value !== undefined || !userSetting(key)) throw new UsageError('usage: remaster config get <key>', { hint });
      process.stdout.write(`${store.get(key) ?? ''}\n`);
      return ExitCode.ok;
    case 'set':
      if (!key || value === undefined || extra !== undefined) throw new UsageError('usage: remaster config set <key> <value>', { hint });
      setUserDefault(store, key, value);
      return ExitCode.ok;
    case 'unset':
      if (!key || !userSetting(key)) throw new UsageError('usage: remaster config unset <key>', { hint });
      store.delete(key);
      return ExitCode.ok;
    default:
      if (sub === undefined || sub === '--help' || sub === '-h') return printHelp('config');
      throw new UsageError(`unknown config command "${sub}"`, {
        hint: 'remaster config list | get <key> | set <key> <value> | unset <key>',
      });
  }
}
