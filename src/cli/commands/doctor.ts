// remaster doctor: what this machine has for building and verifying, and the apt command for each gap.
import { existsSync, readFileSync } from 'node:fs';
import { ExitCode } from '../../errors.js';
import { run } from '../../exec/run.js';
import { doctorTools } from '../../exec/tools.js';
import { which } from '../../exec/which.js';
import { chooseAccel } from '../../qemu/accel.js';
import { findOvmf } from '../../qemu/firmware.js';
import { flagValue, parseFlags } from '../flags.js';
import { printHelp } from './help.js';

export interface Check {
  name: string;
  ok: boolean;
  /** Version or what was found. */
  detail: string;
  /** Debian package that fixes it. */
  fix?: string | undefined;
  /** Needed by: build, verify, demo, registry sources... */
  for: string;
}

export function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim()) ?? '').trim().slice(0, 80);
}

export async function runChecks(signal?: AbortSignal): Promise<Check[]> {
  const checks: Check[] = [];
  const node = process.versions.node.split('.').map(Number);
  checks.push({
    name: 'node',
    ok: (node[0] ?? 0) > 20 || ((node[0] ?? 0) === 20 && (node[1] ?? 0) >= 19),
    detail: process.versions.node,
    fix: 'Node.js 20.19 or newer',
    for: 'everything',
  });
  checks.push({ name: 'root', ok: process.getuid?.() === 0, detail: `uid ${process.getuid?.()}`, fix: 'run as root (sudo)', for: 'build' });
  checks.push({
    name: 'loop devices',
    ok: existsSync('/dev/loop-control'),
    detail: existsSync('/dev/loop-control') ? '/dev/loop-control' : 'missing',
    fix: 'modprobe loop (or --privileged in a container)',
    for: 'build',
  });
  const fs = existsSync('/proc/filesystems') ? readFileSync('/proc/filesystems', 'utf8') : '';
  for (const f of ['overlay', 'squashfs']) {
    checks.push({
      name: `${f} filesystem`,
      ok: new RegExp(`\\b${f}$`, 'm').test(fs),
      detail: new RegExp(`\\b${f}$`, 'm').test(fs) ? 'in the kernel' : 'not listed in /proc/filesystems',
      fix: `modprobe ${f}`,
      for: 'build',
    });
  }
  for (const t of doctorTools()) {
    const path = await which(t.tool);
    let detail = 'not found';
    if (path) {
      const r = await run(t.tool, t.version ?? [], { signal, okCodes: [0, 1] }).catch(() => undefined);
      detail = r ? firstLine(`${r.stdout}\n${r.stderr}`) || path : path;
    }
    checks.push({ name: t.tool, ok: path !== undefined, detail, fix: `apt-get install ${t.package}`, for: t.for });
  }
  try {
    const o = findOvmf();
    checks.push({ name: 'OVMF (UEFI firmware)', ok: true, detail: o.code, for: 'verify --firmware uefi' });
  } catch {
    checks.push({
      name: 'OVMF (UEFI firmware)',
      ok: false,
      detail: 'not found',
      fix: 'apt-get install ovmf',
      for: 'verify --firmware uefi',
    });
  }
  const accel = await chooseAccel({ preference: 'auto', signal });
  checks.push({ name: 'accelerator', ok: true, detail: `${accel.accel}: ${accel.reason}`, for: 'verify' });
  return checks;
}

/** The report lines and one apt-get command for every missing package. */
export function doctorReport(checks: readonly Check[]): { text: string; ok: boolean } {
  const lines = checks.map(
    (c) => `${c.ok ? 'ok     ' : 'MISSING'} ${c.name.padEnd(22)} ${c.detail}${c.ok ? '' : `  (needed for ${c.for})`}`,
  );
  const apt = [
    ...new Set(
      checks.filter((c) => !c.ok && c.fix?.startsWith('apt-get install ')).map((c) => c.fix?.slice('apt-get install '.length) ?? ''),
    ),
  ];
  const other = checks.filter((c) => !c.ok && c.fix && !c.fix.startsWith('apt-get install ')).map((c) => `fix: ${c.name}: ${c.fix}`);
  if (apt.length > 0) lines.push(`fix: apt-get install ${apt.join(' ')}`);
  lines.push(...other);
  return { text: `${lines.join('\n')}\n`, ok: checks.every((c) => c.ok) };
}

export async function doctorCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { raw, help } = parseFlags('doctor', argv);
  if (help) return printHelp('doctor');
  const checks = await runChecks(signal);
  const r = doctorReport(checks);
  process.stdout.write(flagValue('doctor', 'json', raw) === true ? `${JSON.stringify({ ok: r.ok, checks }, null, 2)}\n` : r.text);
  return r.ok ? ExitCode.ok : ExitCode.failed;
}
