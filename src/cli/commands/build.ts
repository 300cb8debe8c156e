// remaster build: flags and remaster.yml -> the build config -> build() -> the report and the exit code.
import { createWriteStream } from 'node:fs';
import { type BuildReport, build, buildVariants, reportOf } from '../../build.js';
import { type BuildConfig, expandVariants, type RawConfig, readConfigFile, toBuildConfig, type VariantRaw } from '../../config/load.js';
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

/** The flags a user gave (not the config file's keys): with variants they win over every variant's. */
function givenFlags(flags: RawConfig): RawConfig {
  const { config: _config, ...given } = flags;
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
}

export async function buildCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { raw, positionals, help } = parseFlags('build', argv);
  if (help) return printHelp('build');
  if (positionals.length > 0)
    throw new UsageError(`remaster build: unexpected argument "${positionals[0]}"`, { hint: 'the base ISO goes after --iso' });
  const out = outputOptions('build', raw);
  const merged = rawFromFlags(raw);
  const variants = expandVariants(merged, givenFlags(raw));
  if (variants) return runVariants(variants, out, signal);
  return runBuild(toBuildConfig(merged), out, signal);
}

/** Every variant built, one report each; exit 0 when all succeeded, else the largest failing variant's code (1 or 2). */
async function runVariants(variants: readonly VariantRaw[], o: OutputOptions, signal: AbortSignal): Promise<number> {
  const log = o.logFile ? createWriteStream(o.logFile, { flags: 'a' }) : undefined;
  const report = await buildVariants(
    variants.map((v) => ({ name: v.name, config: () => toBuildConfig(v.raw) })),
    {
      renderer: chooseRenderer({ quiet: o.quiet, verbose: o.verbose, isTTY: process.stderr.isTTY }),
      signal,
      stream: process.stderr,
      verbose: o.verbose,
      onVariant: (name, i) => {
        if (!o.quiet) process.stderr.write(`remaster: variant ${i + 1}/${variants.length}: ${name}\n`);
      },
      ...(log ? { log: (line: string) => log.write(`${new Date().toISOString()} ${line}\n`) } : {}),
    },
  ).finally(() => log?.end());
  if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    for (const v of report.variants) {
      process.stdout.write(`variant ${v.name}: ${v.ok ? 'ok' : `FAILED (exit ${v.exitCode})`}\n`);
      if (v.report) printBuildReport(v.report, false);
      if (v.error) process.stdout.write(`  error: ${v.error.message}${v.error.hint ? `\n  hint: ${v.error.hint}` : ''}\n`);
    }
    process.stdout.write(`${report.variants.filter((v) => v.ok).length}/${report.variants.length} variants built in ${report.seconds} s\n`);
  }
  return Math.max(ExitCode.ok, ...report.variants.map((v) => v.exitCode));
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
