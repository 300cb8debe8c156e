// remaster packages fetch: a folder of .debs with the engine's full dependency closure for one base ISO, so that
// `build --packages <dir>` installs with no network.
import { fetchPackages } from '../../build.js';
import { ExitCode, UsageError } from '../../errors.js';
import { inspectIso } from '../../iso/inspect.js';
import { chooseRenderer } from '../../pipeline/runner.js';
import type { Compression, Engine } from '../../types.js';
import { flagValue, parseFlags } from '../flags.js';
import { outputOptions } from './build.js';
import { printHelp } from './help.js';

export async function packagesCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === undefined) return printHelp('packages');
  if (sub !== 'fetch')
    throw new UsageError(`unknown packages command "${sub}"`, {
      hint: 'remaster packages fetch --engine docker --iso base.iso --out debs/',
    });
  const { raw, positionals, help } = parseFlags('packages', rest);
  if (help) return printHelp('packages');
  if (positionals.length > 0) throw new UsageError(`remaster packages fetch: unexpected argument "${positionals[0]}"`);
  if (raw.engine === undefined) throw new UsageError('remaster packages fetch: --engine must be docker or podman');
  const engine = flagValue('packages', 'engine', raw) as Engine;
  const iso = flagValue('packages', 'iso', raw) as string | undefined;
  const outDir = flagValue('packages', 'out', raw) as string | undefined;
  if (!iso || !outDir) throw new UsageError('remaster packages fetch needs --iso <base.iso> and --out <folder>');
  const out = outputOptions('packages', raw);
  await inspectIso(iso, { signal });
  const r = await fetchPackages({
    iso,
    engine,
    outDir,
    compression: flagValue('packages', 'compression', raw) as Compression,
    extraPackages: flagValue('packages', 'extraPackages', raw) as string[],
    mirror: flagValue('packages', 'mirror', raw) as string,
    cacheDir: flagValue('packages', 'cacheDir', raw) as string,
    renderer: chooseRenderer({ quiet: out.quiet, verbose: out.verbose, isTTY: process.stderr.isTTY }),
    signal,
    verbose: out.verbose,
  });
  process.stdout.write(
    `${r.debs.length} packages for ${engine} (${r.architecture}) in ${r.dir}\nuse them with: remaster build --packages ${r.dir} ...\n`,
  );
  return ExitCode.ok;
}
