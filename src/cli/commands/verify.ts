// remaster verify <iso>: boot an ISO in QEMU under each firmware and medium and check, from inside the guest, that its
// engine holds every expected image.
import { mkdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import { defaultCacheDir } from '../../config/paths.js';
import { ExitCode, UsageError } from '../../errors.js';
import { quoteArgv } from '../../exec/run.js';
import { type CommandTrace, withTrace } from '../../exec/trace.js';
import { parseRef } from '../../images/reference.js';
import { inspectIso } from '../../iso/inspect.js';
import { evidenceIndexPaths } from '../../qemu/evidence.js';
import type { Accel, Engine, Firmware, Media } from '../../types.js';
import { checkCasperInstall } from '../../verify/casper-install.js';
import { storeDiskTag } from '../../verify/store-disk.js';
import { type VerifyOptions, verifyIso } from '../../verify/verify-iso.js';
import { flagValue, parseFlags } from '../flags.js';
import { printHelp } from './help.js';

/** The library's verify options from the verb's flags, each checked as the settings table checks it. */
export function verifyOptions(iso: string, raw: Record<string, unknown>, signal: AbortSignal): VerifyOptions {
  if (raw.engine === undefined)
    throw new UsageError('remaster verify: --engine must be docker or podman', {
      hint: 'remaster verify out.iso --engine docker --expect app:1.0',
    });
  const engine = flagValue('verify', 'engine', raw) as Engine;
  const expected = ((flagValue('verify', 'expect', raw) as string[] | undefined) ?? []).map((e) => {
    const [ref, id] = e.split('@');
    return id ? { ref: parseRef(ref ?? '', '--expect').full, id } : { ref: parseRef(ref ?? '', '--expect').full };
  });
  if (expected.length === 0)
    throw new UsageError('remaster verify: give at least one --expect name:tag', {
      hint: 'remaster verify out.iso --engine docker --expect app:1.0',
    });
  const firmwares = flagValue('verify', 'verify', raw) as Firmware[];
  if (firmwares.length === 0)
    throw new UsageError('remaster verify: --firmware none leaves nothing to boot', { hint: 'give bios, uefi or all' });
  const storeDevice = flagValue('verify', 'storeDevice', raw) as string | undefined;
  if (storeDevice !== undefined && !storeDiskTag(storeDevice)) {
    throw new UsageError(`--store-device ${storeDevice}: verify can make a disk for LABEL=<label> or UUID=<uuid> only`, {
      hint: 'build and verify with a label, e.g. --store-device LABEL=remaster-store',
    });
  }
  const cut = flagValue('verify', 'powerCut', raw) as string | undefined;
  // --install proves the installed system: an install and a boot of its disk under each firmware, no live boots.
  const install = flagValue('verify', 'verifyInstall', raw) === true;
  if (install && raw.verifyMedia !== undefined) {
    throw new UsageError('remaster verify: --install boots the installed disk, not the ISO: --media does not apply', {
      hint: 'run verify twice: once with --media, once with --install',
    });
  }
  return {
    iso,
    engine,
    expected,
    firmwares,
    media: install ? [] : (flagValue('verify', 'verifyMedia', raw) as Media[]),
    install,
    accel: flagValue('verify', 'accel', raw) as Accel,
    timeout: flagValue('verify', 'verifyTimeout', raw) as number | undefined,
    evidenceDir: (flagValue('verify', 'evidenceDir', raw) as string | undefined) ?? defaultEvidenceDir(defaultCacheDir(), iso),
    storeDevice,
    powerCut: cut === undefined ? undefined : parseRef(cut, '--power-cut').full,
    signal,
    onLine: (l) => process.stderr.write(`${l}\n`),
  };
}

export async function verifyCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { raw, positionals, help } = parseFlags('verify', argv);
  if (help) return printHelp('verify');
  const [iso, extra] = positionals;
  if (!iso || extra)
    throw new UsageError('remaster verify takes one ISO path', { hint: 'remaster verify out.iso --engine docker --expect app:1.0' });
  const o = verifyOptions(iso, raw, signal);
  const json = flagValue('verify', 'json', raw) === true;
  const base = await inspectIso(iso, { signal });
  const evidenceDir = o.evidenceDir;
  await mkdir(evidenceDir, { recursive: true });
  if (o.install && base.flavor === 'ubuntu-casper') {
    // Ubuntu's installers cannot run here: the host-side check of what they would copy, with its limits said.
    const r = await checkCasperInstall({ base, engine: o.engine, expected: o.expected, dir: join(evidenceDir, 'curtin'), signal });
    if (json) process.stdout.write(`${JSON.stringify({ ok: r.ok, iso, check: 'host', limits: r.limits, sources: r.sources }, null, 2)}\n`);
    else process.stdout.write([...r.lines, `${r.ok ? 'PASS' : 'FAIL'}: ${r.limits}`, ''].join('\n'));
    return r.ok ? ExitCode.ok : ExitCode.failed;
  }
  const trace: CommandTrace | undefined =
    flagValue('verify', 'verbose', raw) === true
      ? { command: (a) => process.stderr.write(`$ ${quoteArgv(a, 4000)}\n`), line: (l) => process.stderr.write(`  ${l}\n`) }
      : undefined;
  const outcomes = await withTrace(trace, () => verifyIso(o));
  const ok = outcomes.every((o) => o.ok);
  const index = evidenceIndexPaths(evidenceDir);
  if (json) process.stdout.write(`${JSON.stringify({ ok, iso, evidenceDir, ...index, outcomes }, null, 2)}\n`);
  else {
    for (const o of outcomes) {
      const [first, ...more] = (o.diagnosis ?? '').split('\n');
      process.stdout.write(
        [
          `${o.firmware}/${o.media}: ${o.ok ? 'PASS' : `FAIL: ${first}`}`,
          ...more.map((l) => `  ${l}`),
          `  guest lists ${o.images.map((i) => i.ref).join(', ') || 'no images'}${o.secondsToReport ? `, report after ${o.secondsToReport.toFixed(0)} s` : ''}; evidence in ${o.evidenceDir}`,
          ...(o.storeFs ? [`  engine store on ${o.storeFs}`] : []),
          ...(o.install
            ? [
                `  installed with the ISO's own installer in ${o.install.seconds} s (installer console ${o.install.serialLog}, syslog ${o.install.syslog})`,
              ]
            : []),
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

/**
 * Where `remaster verify` keeps evidence unless told: a folder per ISO under <cache>/verify (its name and a hash of its
 * full path), so two verifications of different ISOs never write the same run folders.
 */
export function defaultEvidenceDir(cacheDir: string, iso: string): string {
  const full = resolve(iso);
  const tag = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return join(cacheDir, 'verify', `${basename(full).replace(/\.iso$/i, '')}-${tag}`);
}
