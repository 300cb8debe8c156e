// remaster demo: the built-in example end to end: a base ISO from Debian packages (cached), a busybox image made
// without any registry, a build with it, and a boot of the result.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { toBuildConfig } from '../../config/load.js';
import { UsageError } from '../../errors.js';
import { writeBusyboxRootfs } from '../../fixture/busybox-rootfs.js';
import { ensureDebianLiveIso } from '../../fixture/debian-live.js';
import { flagValue, parseFlags } from '../flags.js';
import { outputOptions, runBuild } from './build.js';
import { printHelp } from './help.js';

export async function demoCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { raw, positionals, help } = parseFlags('demo', argv);
  if (help) return printHelp('demo');
  if (positionals.length > 0)
    throw new UsageError(`remaster demo: unexpected argument "${positionals[0]}"`, { hint: 'see: remaster demo --help' });
  const cacheDir = flagValue('demo', 'cacheDir', raw) as string;
  const engine = (flagValue('demo', 'engine', raw) as string | undefined) ?? 'docker';
  const out = resolve((raw.out as string | undefined) ?? `remaster-demo-${engine}.iso`);
  process.stderr.write(`remaster demo: base ISO from Debian packages (cached in ${cacheDir}/base-iso; the first run takes a while)\n`);
  const base = await ensureDebianLiveIso({ cacheDir, signal, onLine: (l) => process.stderr.write(`  base: ${l}\n`) });
  process.stderr.write(`remaster demo: base ${base.path} (${base.built ? 'built now' : 'from cache'})\n`);
  const demoDir = join(cacheDir, 'demo');
  await mkdir(demoDir, { recursive: true });
  const rootfsTar = join(demoDir, 'busybox-rootfs.tar');
  await writeBusyboxRootfs(rootfsTar, { mtime: 0 });
  const config = toBuildConfig({
    iso: base.path,
    out,
    engine,
    images: [`rootfs:${rootfsTar}=demo/busybox:1.0`],
    verify: raw.verify ?? 'bios',
    ...(raw.accel === undefined ? {} : { accel: raw.accel }),
    cacheDir,
  });
  return runBuild(config, outputOptions('demo', raw), signal);
}
