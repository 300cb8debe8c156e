// Chooses KVM or TCG for a verification boot, distrusting /dev/kvm when it is a slow software nested implementation.
import { constants, existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InterruptedError, RemasterError } from '../errors.js';
import { spawn } from '../exec/run.js';

export type Accel = 'kvm' | 'tcg';
export type AccelPreference = 'auto' | Accel;

export interface AccelChoice {
  accel: Accel;
  reason: string;
}

/** Kernel modules that provide /dev/kvm without hardware virtualisation; guests crawl or hang under them. */
export const SOFTWARE_KVM_MODULES: readonly string[] = ['kvm_pvm'];

export const QEMU_BINARY = 'qemu-system-x86_64';

/** Boot timeout for a guest under KVM; TCG gets timeoutScale('tcg') times this. */
export const BASE_BOOT_TIMEOUT_MS = 150_000;
/** Default boot timeout under TCG: 600 s (a live ISO reaches its login prompt in ~75-120 s there). */
export const DEFAULT_TCG_BOOT_TIMEOUT_MS = 600_000;

/** How much slower to expect things under each accelerator, relative to KVM. */
export function timeoutScale(accel: Accel): number {
  return accel === 'kvm' ? 1 : 4;
}

/** Default time allowed from QEMU start to the guest's report. */
export function defaultBootTimeoutMs(accel: Accel): number {
  return BASE_BOOT_TIMEOUT_MS * timeoutScale(accel);
}

/** How long an unattended install may take: 15 min with KVM, 60 under TCG. */
export const BASE_INSTALL_TIMEOUT_MS = 15 * 60 * 1000;

export function defaultInstallTimeoutMs(accel: Accel): number {
  return BASE_INSTALL_TIMEOUT_MS * timeoutScale(accel);
}

/** What we could learn about /dev/kvm without starting anything. */
export interface KvmFacts {
  devKvm: 'missing' | 'unopenable' | 'ok';
  /** Why it could not be opened (errno code), when devKvm is 'unopenable'. */
  openError?: string;
  /** A software KVM module found under /sys/module, if any. */
  softwareModule?: string;
}

/**
 * The pure part of the choice: returns a final answer, or 'probe' when only a test boot can tell.
 * An explicit 'kvm' is honoured whenever /dev/kvm can be opened, and is an error otherwise.
 */
export function decideAccel(preference: AccelPreference, facts: KvmFacts): AccelChoice | 'probe' {
  if (preference === 'tcg') return { accel: 'tcg', reason: 'TCG requested' };
  if (facts.devKvm !== 'ok') {
    const why = facts.devKvm === 'missing' ? '/dev/kvm does not exist' : `/dev/kvm cannot be opened (${facts.openError ?? 'error'})`;
    if (preference === 'kvm') {
      throw new RemasterError(`KVM was requested but ${why}`, {
        hint: 'load the kvm module and check access to /dev/kvm (group kvm), or use --accel tcg',
      });
    }
    return { accel: 'tcg', reason: `${why}; using TCG (software emulation)` };
  }
  if (preference === 'kvm') {
    return {
      accel: 'kvm',
      reason: facts.softwareModule
        ? `KVM requested (note: /dev/kvm is provided by ${facts.softwareModule}, a software nested implementation)`
        : 'KVM requested',
    };
  }
  if (facts.softwareModule) {
    return {
      accel: 'tcg',
      reason: `/dev/kvm is provided by ${facts.softwareModule} (software nested virtualisation, /sys/module/${facts.softwareModule}), under which guests crawl or hang; using TCG`,
    };
  }
  return 'probe';
}

export interface KvmFactsOptions {
  devKvmPath?: string;
  sysModuleDir?: string;
}

export async function gatherKvmFacts(o: KvmFactsOptions = {}): Promise<KvmFacts> {
  const devKvmPath = o.devKvmPath ?? '/dev/kvm';
  const sysModuleDir = o.sysModuleDir ?? '/sys/module';
  const softwareModule = SOFTWARE_KVM_MODULES.find((m) => existsSync(join(sysModuleDir, m)));
  const extra = softwareModule === undefined ? {} : { softwareModule };
  if (!existsSync(devKvmPath)) return { devKvm: 'missing', ...extra };
  try {
    const fh = await open(devKvmPath, constants.O_RDWR);
    await fh.close();
  } catch (e) {
    return { devKvm: 'unopenable', openError: (e as NodeJS.ErrnoException).code ?? String(e), ...extra };
  }
  return { devKvm: 'ok', ...extra };
}

/** argv of the KVM probe: SeaBIOS with no disks, its log on port 0x402 going to logPath. */
export function kvmProbeArgs(logPath: string): string[] {
  return [
    '-accel',
    'kvm',
    '-machine',
    'q35',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-m',
    '64',
    '-chardev',
    `file,id=dbg,path=${logPath.replaceAll(',', ',,')}`,
    '-device',
    'isa-debugcon,iobase=0x402,chardev=dbg',
  ];
}

/** SeaBIOS got as far as looking for a boot device: the CPU really runs. */
export const SEABIOS_PROGRESS = /Booting from|No bootable device/;

export interface ProbeResult {
  ok: boolean;
  detail: string;
  elapsedMs: number;
}

/** Start a tiny KVM guest and require SeaBIOS to reach its boot device search in time. The probe is always killed. */
export async function probeKvm(o: { signal?: AbortSignal | undefined; timeoutMs?: number; qemu?: string } = {}): Promise<ProbeResult> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const dir = await mkdtemp(join(tmpdir(), 'remaster-kvm-probe-'));
  const logPath = join(dir, 'seabios.log');
  const started = Date.now();
  const child = spawn(o.qemu ?? QEMU_BINARY, kvmProbeArgs(logPath), { signal: o.signal });
  let exited = false;
  const done = child.then((r) => {
    exited = true;
    return r;
  });
  try {
    while (Date.now() - started < timeoutMs) {
      if (o.signal?.aborted) throw new InterruptedError('interrupted while probing KVM');
      const log = await readFile(logPath, 'utf8').catch(() => '');
      if (SEABIOS_PROGRESS.test(log)) {
        return {
          ok: true,
          detail: 'SeaBIOS reached its boot device search under KVM',
          elapsedMs: Date.now() - started,
        };
      }
      if (exited) {
        const r = await done;
        const missing = (r.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
        const err = missing
          ? 'qemu-system-x86_64 is not installed'
          : (String(r.stderr ?? '')
              .trim()
              .split('\n')
              .at(-1) ?? '');
        return {
          ok: false,
          detail: `the KVM probe exited early${err ? `: ${err}` : ''}`,
          elapsedMs: Date.now() - started,
        };
      }
      await Promise.race([sleep(100), done]);
    }
    return {
      ok: false,
      detail: `SeaBIOS printed nothing within ${(timeoutMs / 1000).toFixed(0)} s under KVM`,
      elapsedMs: Date.now() - started,
    };
  } finally {
    if (!exited) child.kill('SIGKILL');
    await done;
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A KVM that needs longer than this for the probe is slower than emulation: TCG does the same SeaBIOS run in ~0.1 s
 * on a 2-core host, real KVM faster still, while kvm_pvm took ~3.6 s (and boots full guests far slower than TCG).
 */
export const SLOW_KVM_PROBE_MS = 1500;

/** Pure: turn a probe result into a choice. */
export function accelFromProbe(probe: ProbeResult, slowMs = SLOW_KVM_PROBE_MS): AccelChoice {
  const took = `${(probe.elapsedMs / 1000).toFixed(1)} s`;
  if (!probe.ok) return { accel: 'tcg', reason: `KVM looks unusable (${probe.detail}); using TCG` };
  if (probe.elapsedMs > slowMs) {
    return {
      accel: 'tcg',
      reason: `KVM works but is slow (${probe.detail} only after ${took}; TCG needs ~0.1 s), likely nested or software KVM; using TCG`,
    };
  }
  return { accel: 'kvm', reason: `KVM works (${probe.detail} in ${took})` };
}

export interface ChooseAccelOptions extends KvmFactsOptions {
  preference: AccelPreference;
  signal?: AbortSignal | undefined;
  probeTimeoutMs?: number;
}

/**
 * Pick the accelerator. In auto: no usable /dev/kvm or a software KVM module means TCG; otherwise a probe (<= 5 s)
 * must show SeaBIOS running quickly under KVM.
 */
export async function chooseAccel(o: ChooseAccelOptions): Promise<AccelChoice> {
  const facts = await gatherKvmFacts(o);
  const decided = decideAccel(o.preference, facts);
  if (decided !== 'probe') return decided;
  return accelFromProbe(await probeKvm({ signal: o.signal, timeoutMs: o.probeTimeoutMs ?? 5000 }));
}
