// remaster build: flags and remaster.yml -> the build config -> build() -> the report and the exit code.
import { createWriteStream } from 'node:fs';
import { type BuildReport, build, reportOf } from '../../build.js';
import { type BuildConfig, type RawConfig, readConfigFile, toBuildConfig } from '../../config/load.js';
import { userDefaults } from '../../config/user.js';
import { ExitCode, UsageError } from '../../errors.js';
import { chooseRenderer } from '../../pipeline/runner.js';
import { mib } from '../../util/format.js';
import { flagValue, parseFlags } from '../flags.js';
import { printHelp } from './help.js';

/** How a pipeline verb reports: --json, -q, -v, --log-file. */
export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  logFile?: string | undefined;
}

export function outputOptions(verb: 'build' | 'demo' | 'packages', raw: RawConfig): OutputOptions {
  return {
    json: flagValue(verb, 'json', raw) === true,
    quiet: flagValue(verb, 'quiet', raw) === true,
    verbose: flagValue(verb, 'verbose', raw) === true,
    logFile: flagValue(verb, 'logFile', raw) as string | undefined,
  };
}

/** Flags win over the config file (-c), the file over user defaults, key by key. */
export function rawFromFlags(flags: RawConfig, defaults: RawConfig = userDefaults()): RawConfig {
  const { config, ...given } = flags;
  const file = typeof config === 'string' ? readConfigFile(config) : {};
  const raw: RawConfig = { ...defaults, ...file };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) raw[k] = v;
  return raw;
}

export async function buildCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { raw, positionals, help } = parseFlags('build', argv);
  if (help) return printHelp('build');
  if (positionals.length > 0)
    throw new UsageError(`remaster build: unexpected argument "${positionals[0]}"`, { hint: 'the base ISO goes after --iso' });
  const out = outputOptions('build', raw);
  return runBuild(toBuildConfig(rawFromFlags(raw)), out, signal);
}

/** Build, print the report (JSON on stdout with --json, even for a failed build), return the exit code. */
export async function runBuild(config: BuildConfig, o: OutputOptions, signal: AbortSignal): Promise<number> {
  const log = o.logFile ? createWriteStream(o.logFile, { flags: 'a' }) : undefined;
  const report = await build(config, {
    renderer: chooseRenderer({ quiet: o.quiet, verbose: o.verbose, isTTY: process.stderr.isTTY }),
    signal,
    stream: process.stderr,
    verbose: o.verbose,
    ...(log ? { log: (line: string) => log.write(`${new Date().toISOString()} ${line}\n`) } : {}),
  })
    .catch((e: unknown) => {
      // With --json, CI still gets the report of a failed build on stdout; the error lines go to stderr.
      const partial = reportOf(e);
      if (o.json && partial) printBuildReport(partial, true);
      throw e;
    })
    .finally(() => log?.end());
  printBuildReport(report, o.json);
  return report.ok ? ExitCode.ok : ExitCode.failed;
}

function printBuildReport(r: BuildReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  const lines = [
    `${r.ok ? 'built' : 'FAILED'}: ${r.output?.path ?? '(no output)'} ${r.output ? `(${mib(r.output.bytes)}, sha256 ${r.output.sha256})` : ''}`,
    `  base ${r.base.iso} (${r.base.flavor}), ${r.mode} mode, target ${r.target ?? 'live'}, engine ${r.engine}, ${r.images?.images.length ?? 0} image(s), ${r.seconds} s`,
    ...r.verify.map(
      (v) =>
        `  verify ${v.firmware}/${v.media} (${v.accel}): ${v.ok ? 'PASS' : 'FAIL'}${v.install ? `, installed in ${v.install.seconds} s` : ''}${v.imagesUsableSeconds ? `, images usable ${v.imagesUsableSeconds} s after kernel start` : ''}${v.loaderCounts ? ` (${v.loaderCounts.loaded} loaded, ${v.loaderCounts.present} already present)` : ''}${v.secondsToReport ? `, report ${v.secondsToReport.toFixed(0)} s after QEMU start` : ''}${v.diagnosis ? ` (${v.diagnosis.split('\n')[0]})` : ''}; evidence ${v.evidenceDir}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
