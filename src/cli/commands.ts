// The verbs: parse argv strictly, run, print results; errors propagate to main.ts which prints them.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type BuildReport, build, reportOf } from '../build.js';
import { parseMedia, parseVerify, type RawConfig, readConfigFile, toBuildConfig } from '../config/load.js';
import { defaultCacheDir } from '../config/paths.js';
import { jsonSchema } from '../config/schema.js';
import { isUserKey, setUserDefault, USER_KEYS, userDefaults, userStore } from '../config/user.js';
import type { BuildConfig } from '../config/types.js';
import { doctorReport, runChecks } from '../doctor.js';
import { ExitCode, UsageError } from '../errors.js';
import { quoteArgv } from '../exec/run.js';
import { type CommandTrace, withTrace } from '../exec/trace.js';
import { writeBusyboxRootfs } from '../fixture/busybox-rootfs.js';
import { ensureDebianLiveIso } from '../fixture/debian-live.js';
import { parseRef } from '../images/reference.js';
import { type InspectResult, inspectIso } from '../iso/inspect.js';
import { fetchPackages } from '../packages.js';
import { chooseRenderer } from '../pipeline/runner.js';
import { evidenceIndexPaths } from '../qemu/evidence.js';
import { storeDiskTag, verifyIso } from '../verify.js';
import { HELP, VERSION } from './help.js';
import { mib } from '../util/format.js';

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function parse(argv: string[], options: ParseArgsConfig['options'], verb: string): { values: Values; positionals: string[] } {
  try {
    const r = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (e) {
    throw new UsageError(`remaster ${verb}: ${(e as Error).message.replace(/\. To specify a positional.*$/s, '')}`, {
      hint: `see: remaster ${verb} --help`,
    });
  }
}

const s = (v: Values[string]): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: Values[string]): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];

export async function main(argv: string[], signal: AbortSignal): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP.main);
      return verb === undefined ? ExitCode.usage : ExitCode.ok;
    case '--version':
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return ExitCode.ok;
    case 'build':
      return buildCmd(rest, signal);
    case 'inspect':
      return inspectCmd(rest, signal);
    case 'verify':
      return verifyCmd(rest, signal);
    case 'demo':
      return demoCmd(rest, signal);
    case 'packages':
      return packagesCmd(rest, signal);
    case 'schema':
      process.stdout.write(`${JSON.stringify(jsonSchema(), null, 2)}\n`);
      return ExitCode.ok;
    case 'config':
      return configCmd(rest);
    case 'doctor': {
      const { values } = parse(rest, { json: { type: 'boolean' } }, 'doctor');
      if (values.help) return help('doctor');
      const checks = await runChecks(signal);
      const r = doctorReport(checks);
      process.stdout.write(values.json ? `${JSON.stringify({ ok: r.ok, checks }, null, 2)}\n` : r.text);
      return r.ok ? ExitCode.ok : ExitCode.failed;
    }
    default:
      throw new UsageError(`unknown command "${verb}"`, {
        hint: 'commands: build, inspect, verify, packages, doctor, config, schema, demo (remaster --help)',
      });
  }
}

const buildOptions = {
  config: { type: 'string', short: 'c' },
  iso: { type: 'string' },
  out: { type: 'string', short: 'o' },
  engine: { type: 'string' },
  image: { type: 'string', multiple: true },
  verify: { type: 'string' },
  'verify-media': { type: 'string' },
  'evidence-dir': { type: 'string' },
  compression: { type: 'string' },
  'compression-level': { type: 'string' },
  'rootfs-mode': { type: 'string' },
  'squashfs-level': { type: 'string' },
  package: { type: 'string', multiple: true },
  packages: { type: 'string' },
  'delete-after-load': { type: 'boolean' },
  'podman-store': { type: 'string' },
  'tmpfs-size': { type: 'string' },
  'store-device': { type: 'string' },
  accel: { type: 'string' },
  'verify-timeout': { type: 'string' },
  'cache-dir': { type: 'string' },
  'work-dir': { type: 'string' },
  'keep-work': { type: 'boolean' },
  'kernel-arg': { type: 'string', multiple: true },
  'serial-console': { type: 'boolean' },
  'menu-title': { type: 'string' },
  'menu-timeout': { type: 'string' },
  'disk-info': { type: 'string' },
  'no-resume': { type: 'boolean' },
  'no-engine-cache': { type: 'boolean' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  'log-file': { type: 'string' },
} as const;

/** Flags win over the config file, key by key. */
export function rawFromFlags(values: Values, defaults: RawConfig = userDefaults()): RawConfig {
  const raw: RawConfig = { ...defaults, ...(values.config ? readConfigFile(String(values.config)) : {}) };
  const set = <K extends keyof RawConfig>(k: K, v: unknown) => {
    if (v !== undefined) raw[k] = v;
  };
  set('iso', s(values.iso));
  set('out', s(values.out));
  set('engine', s(values.engine));
  const imgs = list(values.image);
  if (imgs.length > 0) raw.images = imgs;
  set('verify', s(values.verify));
  set('verifyMedia', s(values['verify-media']));
  set('evidenceDir', s(values['evidence-dir']));
  set('compression', s(values.compression));
  set('compressionLevel', s(values['compression-level']));
  set('rootfsMode', s(values['rootfs-mode']));
  set('squashfsLevel', s(values['squashfs-level']));
  set('packages', s(values.packages));
  const pkgs = list(values.package);
  if (pkgs.length > 0) raw.extraPackages = pkgs;
  if (values['delete-after-load']) raw.deleteAfterLoad = true;
  set('podmanStore', s(values['podman-store']));
  set('tmpfsSize', s(values['tmpfs-size']));
  set('storeDevice', s(values['store-device']));
  set('accel', s(values.accel));
  set('verifyTimeout', s(values['verify-timeout']));
  set('cacheDir', s(values['cache-dir']));
  set('workDir', s(values['work-dir']));
  if (values['keep-work']) raw.keepWork = true;
  const kargs = list(values['kernel-arg']);
  if (kargs.length > 0) raw.kernelArgs = kargs;
  if (values['serial-console']) raw.serialConsole = true;
  set('menuTitle', s(values['menu-title']));
  set('menuTimeout', s(values['menu-timeout']));
  set('diskInfo', s(values['disk-info']));
  if (values['no-resume']) raw.resume = false;
  if (values['no-engine-cache']) raw.engineCache = false;
  return raw;
}

async function buildCmd(argv: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(argv, buildOptions, 'build');
  if (values.help) return help('build');
  if (positionals.length > 0)
    throw new UsageError(`remaster build: unexpected argument "${positionals[0]}"`, { hint: 'the base ISO goes after --iso' });
  const config = toBuildConfig(rawFromFlags(values));
  return runBuild(config, values, signal);
}

/** Build, print the report (JSON on stdout with --json, even for a failed build), return the exit code. */
async function runBuild(config: BuildConfig, values: Values, signal: AbortSignal): Promise<number> {
  const logFile = s(values['log-file']);
  const log = logFile ? createWriteStream(resolve(logFile), { flags: 'a' }) : undefined;
  const verbose = values.verbose === true;
  const report = await build(config, {
    renderer: chooseRenderer({ quiet: values.quiet === true, verbose, isTTY: process.stderr.isTTY }),
    signal,
    stream: process.stderr,
    verbose,
    ...(log ? { log: (line: string) => log.write(`${new Date().toISOString()} ${line}\n`) } : {}),
  })
    .catch((e: unknown) => {
      // With --json, CI still gets the report of a failed build on stdout; the error lines go to stderr.
      const partial = reportOf(e);
      if (values.json === true && partial) printBuildReport(partial, true);
      throw e;
    })
    .finally(() => log?.end());
  printBuildReport(report, values.json === true);
  return report.ok ? ExitCode.ok : ExitCode.failed;
}

function printBuildReport(r: BuildReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  const lines = [
    `${r.ok ? 'built' : 'FAILED'}: ${r.output?.path ?? '(no output)'} ${r.output ? `(${mib(r.output.bytes)}, sha256 ${r.output.sha256})` : ''}`,
    `  base ${r.base.iso} (${r.base.flavor}), ${r.mode} mode, engine ${r.engine}, ${r.images?.images.length ?? 0} image(s), ${r.seconds} s`,
    ...r.verify.map(
      (v) =>
        `  verify ${v.firmware}/${v.media} (${v.accel}): ${v.ok ? 'PASS' : 'FAIL'}${v.imagesUsableSeconds ? `, images usable ${v.imagesUsableSeconds} s after kernel start` : ''}${v.secondsToReport ? `, report ${v.secondsToReport.toFixed(0)} s after QEMU start` : ''}${v.diagnosis ? ` (${v.diagnosis.split('\n')[0]})` : ''}; evidence ${v.evidenceDir}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function inspectCmd(argv: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } }, 'inspect');
  if (values.help) return help('inspect');
  const [iso, extra] = positionals;
  if (!iso || extra) throw new UsageError('remaster inspect takes one ISO path', { hint: 'remaster inspect base.iso [--json]' });
  const r = await inspectIso(iso, { signal });
  if (values.json) {
    const { files: _files, ...rest } = r;
    process.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
  } else process.stdout.write(describeInspect(r));
  return ExitCode.ok;
}

export function describeInspect(r: InspectResult): string {
  const b = r.boot;
  const lines = [
    `${r.iso}: ${r.flavor}, volume "${r.volumeId}", ${mib(r.bytes)}`,
    `boot: BIOS ${b.bios ? 'yes' : 'no'}, UEFI ${b.uefi ? 'yes' : 'no'}, hybrid ${b.hybrid ? 'yes' : 'no'}${b.gpt ? ' (GPT)' : ''}${b.appendedEfiPartition ? ', appended EFI partition' : ''}`,
    ...b.elTorito.map((e) => `  El Torito #${e.index}: ${e.platform}${e.path ? ` ${e.path}` : ''}`),
    `  system area: ${b.systemArea || 'none'}`,
    'root filesystem layers (bottom first):',
    ...r.rootfs.map((l) => `  ${l.path}: ${l.compression}, ${l.blockSize / 1024} KiB blocks, ${mib(l.bytes)}`),
    `kernels: ${r.kernels.join(', ') || 'none'}; initrds: ${r.initrds.join(', ') || 'none'}`,
    `checksum files: ${r.checksumFiles.join(', ') || 'none'}; boot menus: ${r.bootMenus.join(', ') || 'none'}`,
  ];
  if (r.moduleFile) lines.push(`layer order file: ${r.moduleFile}`);
  if (r.initrd) {
    const parts = r.initrd.parts.map((p) => `${p.compression} (${p.entries} entries)`).join(' + ');
    lines.push(`initrd ${r.initrd.path}: ${parts}; boot scripts: ${r.initrd.bootScripts}`);
  }
  if (r.casper) {
    const c = r.casper;
    lines.push(
      c.layered
        ? `casper: layered, live chain top ${c.layerfsPath} (from the ${c.layerfsSource === 'menu' ? 'boot menus' : 'initrd'}${c.initrdLayerfsPath ? `; initrd default ${c.initrdLayerfsPath}` : ''})`
        : 'casper: single layer set (casper stacks every /casper/*.squashfs, sorted)',
    );
    if (c.menuLayerPaths.length > 0) lines.push(`  layerfs-path in boot menus: ${c.menuLayerPaths.join(', ')}`);
    for (const src of c.installSources) lines.push(`  install source ${src.id}: ${src.path}${src.default ? ' (default)' : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

async function verifyCmd(argv: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      engine: { type: 'string' },
      expect: { type: 'string', multiple: true },
      firmware: { type: 'string' },
      media: { type: 'string' },
      accel: { type: 'string' },
      timeout: { type: 'string' },
      'evidence-dir': { type: 'string' },
      'store-device': { type: 'string' },
      'power-cut': { type: 'string' },
      // The flag's earlier name, still accepted.
      'work-dir': { type: 'string' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
    },
    'verify',
  );
  if (values.help) return help('verify');
  const [iso, extra] = positionals;
  if (!iso || extra)
    throw new UsageError('remaster verify takes one ISO path', { hint: 'remaster verify out.iso --engine docker --expect app:1.0' });
  const engine = s(values.engine);
  if (engine !== 'docker' && engine !== 'podman') throw new UsageError('remaster verify: --engine must be docker or podman');
  const expect = list(values.expect).map((e) => {
    const [ref, id] = e.split('@');
    return id ? { ref: parseRef(ref ?? '', '--expect').full, id } : { ref: parseRef(ref ?? '', '--expect').full };
  });
  if (expect.length === 0) throw new UsageError('remaster verify: give at least one --expect name:tag');
  const firmwares = parseVerify('--firmware', s(values.firmware) ?? 'bios');
  if (firmwares.length === 0)
    throw new UsageError('remaster verify: --firmware none leaves nothing to boot', { hint: 'give bios, uefi or all' });
  const media = parseMedia('--media', s(values.media) ?? 'cdrom');
  await inspectIso(iso, { signal });
  const accel = s(values.accel) ?? process.env.REMASTER_ACCEL ?? 'auto';
  if (!['auto', 'kvm', 'tcg'].includes(accel)) throw new UsageError(`--accel: expected auto, kvm or tcg, got "${accel}"`);
  const timeout = s(values.timeout);
  if (timeout !== undefined && !/^\d+$/.test(timeout)) throw new UsageError(`--timeout: expected seconds, got "${timeout}"`);
  const evidenceDir = resolve(s(values['evidence-dir']) ?? s(values['work-dir']) ?? join(defaultCacheDir(), 'verify'));
  const storeDevice = s(values['store-device']);
  if (storeDevice !== undefined && !storeDiskTag(storeDevice)) {
    throw new UsageError(`--store-device ${storeDevice}: verify can make a disk for LABEL=<label> or UUID=<uuid> only`, {
      hint: 'build and verify with a label, e.g. --store-device LABEL=remaster-store',
    });
  }
  const powerCut = s(values['power-cut']) === undefined ? undefined : parseRef(s(values['power-cut']) ?? '', '--power-cut').full;
  await mkdir(evidenceDir, { recursive: true });
  const trace: CommandTrace | undefined = values.verbose
    ? { command: (a) => process.stderr.write(`$ ${quoteArgv(a, 4000)}\n`), line: (l) => process.stderr.write(`  ${l}\n`) }
    : undefined;
  const outcomes = await withTrace(trace, () =>
    verifyIso({
      iso,
      engine,
      expected: expect,
      firmwares,
      media,
      accel: accel as 'auto',
      timeout: timeout === undefined ? undefined : Number(timeout),
      evidenceDir,
      storeDevice,
      powerCut,
      signal,
      onLine: (l) => process.stderr.write(`${l}\n`),
    }),
  );
  const ok = outcomes.every((o) => o.ok);
  const index = evidenceIndexPaths(evidenceDir);
  if (values.json) process.stdout.write(`${JSON.stringify({ ok, iso, evidenceDir, ...index, outcomes }, null, 2)}\n`);
  else {
    for (const o of outcomes) {
      const [first, ...more] = (o.diagnosis ?? '').split('\n');
      process.stdout.write(
        [
          `${o.firmware}/${o.media}: ${o.ok ? 'PASS' : `FAIL: ${first}`}`,
          ...more.map((l) => `  ${l}`),
          `  guest lists ${o.images.map((i) => i.ref).join(', ') || 'no images'}${o.secondsToReport ? `, report after ${o.secondsToReport.toFixed(0)} s` : ''}; evidence in ${o.evidenceDir}`,
          ...(o.storeFs ? [`  engine store on ${o.storeFs}`] : []),
          ...(o.powerCut
            ? [
                `  power cut ${o.powerCut.atSeconds} s into the first boot, while ${o.powerCut.image} loaded; the next boot's loader ${o.powerCut.reportedByLoader ? 'reported it' : 'did not report it'} (evidence in ${o.powerCut.evidenceDir})`,
              ]
            : []),
          '',
        ].join('\n'),
      );
    }
    process.stdout.write(`evidence: ${index.json}, ${index.junit}\n`);
  }
  return ok ? ExitCode.ok : ExitCode.failed;
}

async function demoCmd(argv: string[], signal: AbortSignal): Promise<number> {
  const { values } = parse(
    argv,
    {
      engine: { type: 'string' },
      out: { type: 'string', short: 'o' },
      verify: { type: 'string' },
      accel: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      verbose: { type: 'boolean', short: 'v' },
      'log-file': { type: 'string' },
      'cache-dir': { type: 'string' },
    },
    'demo',
  );
  if (values.help) return help('demo');
  const cacheDir = s(values['cache-dir']) ?? defaultCacheDir();
  const engine = s(values.engine) ?? 'docker';
  const out = resolve(s(values.out) ?? `remaster-demo-${engine}.iso`);
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
    verify: s(values.verify) ?? 'bios',
    ...(s(values.accel) ? { accel: s(values.accel) } : {}),
    cacheDir,
  });
  return runBuild(config, values, signal);
}

function configCmd(argv: string[]): number {
  const [sub, key, value, extra] = argv;
  const store = userStore();
  switch (sub) {
    case 'list':
      for (const [k, spec] of Object.entries(USER_KEYS)) {
        const v = store.get(k as keyof typeof USER_KEYS);
        process.stdout.write(`${k}=${v ?? ''}${v === undefined ? `  (unset: ${spec.doc})` : ''}\n`);
      }
      process.stdout.write(`# ${store.path}\n`);
      return ExitCode.ok;
    case 'get':
      if (!key || value !== undefined || !isUserKey(key))
        throw new UsageError('usage: remaster config get <key>', { hint: `keys: ${Object.keys(USER_KEYS).join(', ')}` });
      process.stdout.write(`${store.get(key) ?? ''}\n`);
      return ExitCode.ok;
    case 'set':
      if (!key || value === undefined || extra !== undefined)
        throw new UsageError('usage: remaster config set <key> <value>', { hint: `keys: ${Object.keys(USER_KEYS).join(', ')}` });
      setUserDefault(store, key, value);
      return ExitCode.ok;
    case 'unset':
      if (!key || !isUserKey(key))
        throw new UsageError('usage: remaster config unset <key>', { hint: `keys: ${Object.keys(USER_KEYS).join(', ')}` });
      store.delete(key);
      return ExitCode.ok;
    default:
      if (sub === undefined || sub === '--help' || sub === '-h') return help('config');
      throw new UsageError(`unknown config command "${sub}"`, {
        hint: 'remaster config list | get <key> | set <key> <value> | unset <key>',
      });
  }
}

async function packagesCmd(argv: string[], signal: AbortSignal): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === undefined) return help('packages');
  if (sub !== 'fetch')
    throw new UsageError(`unknown packages command "${sub}"`, {
      hint: 'remaster packages fetch --engine docker --iso base.iso --out debs/',
    });
  const { values, positionals } = parse(
    rest,
    {
      engine: { type: 'string' },
      iso: { type: 'string' },
      out: { type: 'string', short: 'o' },
      package: { type: 'string', multiple: true },
      compression: { type: 'string' },
      'cache-dir': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      verbose: { type: 'boolean', short: 'v' },
    },
    'packages fetch',
  );
  if (values.help) return help('packages');
  if (positionals.length > 0) throw new UsageError(`remaster packages fetch: unexpected argument "${positionals[0]}"`);
  const engine = s(values.engine);
  if (engine !== 'docker' && engine !== 'podman') throw new UsageError('remaster packages fetch: --engine must be docker or podman');
  const iso = s(values.iso);
  const outDir = s(values.out);
  if (!iso || !outDir) throw new UsageError('remaster packages fetch needs --iso <base.iso> and --out <folder>');
  const compression = s(values.compression) ?? 'zstd';
  if (!['zstd', 'gzip', 'xz', 'none'].includes(compression))
    throw new UsageError(`--compression: expected zstd, gzip, xz or none, got "${compression}"`);
  await inspectIso(iso, { signal });
  const r = await fetchPackages({
    iso,
    engine,
    outDir,
    compression: compression as 'zstd',
    extraPackages: list(values.package),
    cacheDir: s(values['cache-dir']) ?? defaultCacheDir(),
    renderer: chooseRenderer({ quiet: values.quiet === true, verbose: values.verbose === true, isTTY: process.stderr.isTTY }),
    signal,
    verbose: values.verbose === true,
  });
  process.stdout.write(
    `${r.debs.length} packages for ${engine} (${r.architecture}) in ${r.dir}\nuse them with: remaster build --packages ${r.dir} ...\n`,
  );
  return ExitCode.ok;
}

function help(verb: keyof typeof HELP): number {
  process.stdout.write(HELP[verb]);
  return ExitCode.ok;
}
