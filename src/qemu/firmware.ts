// Finds the firmware a verification boot uses: SeaBIOS (QEMU's default), an OVMF CODE/VARS pair without Secure Boot,
// or one with Secure Boot enforced and Microsoft's keys enrolled (what OEM servers ship with).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RemasterError } from '../errors.js';
import type { Firmware } from '../types.js';

export type FirmwareKind = Firmware;

/** An OVMF build split into read-only code and a variable store template. */
export interface OvmfFiles {
  code: string;
  varsTemplate: string;
}

/** What the QEMU command line needs: nothing for SeaBIOS; code + this run's own copy of the vars for OVMF. */
export type FirmwareSetup =
  | { kind: 'bios' }
  | {
      kind: 'uefi';
      code: string;
      vars: string;
      varsTemplate: string;
      /** Secure Boot enforced: the code needs SMM (q35 smm=on) and the flash its secure mode. */
      secureBoot: boolean;
    };

/** Directories searched, in order (Debian/Ubuntu first, then Fedora, Arch, upstream QEMU installs). */
export const DEFAULT_OVMF_ROOTS: readonly string[] = [
  '/usr/share/OVMF',
  '/usr/share/ovmf',
  '/usr/share/qemu',
  '/usr/share/edk2/ovmf',
  '/usr/share/edk2/x64',
  '/usr/share/edk2-ovmf/x64',
  '/usr/local/share/qemu',
];

/**
 * CODE/VARS file name pairs, preferred first. Only plain builds: the `.secboot`, `.ms`, `.snakeoil` and
 * `secure` variants need SMM and enrolled keys, and would refuse unsigned or differently-signed loaders.
 */
export const OVMF_NAME_PAIRS: readonly { code: string; vars: string }[] = [
  { code: 'OVMF_CODE_4M.fd', vars: 'OVMF_VARS_4M.fd' }, // Debian bookworm+, Ubuntu 22.04+
  { code: 'OVMF_CODE.4m.fd', vars: 'OVMF_VARS.4m.fd' }, // Arch
  { code: 'OVMF_CODE.fd', vars: 'OVMF_VARS.fd' }, // older Debian/Ubuntu, Fedora
  { code: 'edk2-x86_64-code.fd', vars: 'edk2-i386-vars.fd' }, // upstream QEMU's /usr/share/qemu
];

/**
 * Secure Boot pairs: code built with SMM and Secure Boot, variables with Microsoft's KEK and db (the CA that signs
 * shim) and Secure Boot on. Debian/Ubuntu name them so; /usr/share/qemu/firmware/*.json descriptors are read first.
 */
export const OVMF_SECURE_PAIRS: readonly { code: string; vars: string }[] = [
  { code: 'OVMF_CODE_4M.ms.fd', vars: 'OVMF_VARS_4M.ms.fd' }, // Debian bookworm+ (.ms.fd code links to .secboot.fd)
  { code: 'OVMF_CODE_4M.secboot.fd', vars: 'OVMF_VARS_4M.ms.fd' },
  { code: 'OVMF_CODE.secboot.fd', vars: 'OVMF_VARS.ms.fd' }, // Ubuntu 22.04
];

/** QEMU's firmware descriptors (docs/interop/firmware.json), where distributions list what each build offers. */
export const FIRMWARE_DESCRIPTOR_DIRS: readonly string[] = ['/usr/share/qemu/firmware', '/etc/qemu/firmware'];

export const OVMF_HINT = 'apt-get install ovmf';

/** True for Secure Boot builds we must never pick. */
export function isSecureBootVariant(fileName: string): boolean {
  return /(\.secboot\.|\.ms\.|\.snakeoil\.|secure)/i.test(fileName);
}

export interface FindOvmfOptions {
  /** Directories to search instead of DEFAULT_OVMF_ROOTS (tests point this at a fake tree). */
  roots?: readonly string[];
  /** Descriptor folders instead of FIRMWARE_DESCRIPTOR_DIRS (tests). */
  descriptorDirs?: readonly string[];
}

/** The x86_64 flash build with Secure Boot and enrolled keys a QEMU firmware descriptor names, if any. */
export function parseSecureDescriptor(json: string): OvmfFiles | undefined {
  let d: {
    'interface-types'?: string[];
    mapping?: { device?: string; executable?: { filename?: string }; 'nvram-template'?: { filename?: string } };
    targets?: { architecture?: string }[];
    features?: string[];
  };
  try {
    d = JSON.parse(json) as typeof d;
  } catch {
    return undefined;
  }
  const features = new Set(d.features ?? []);
  const code = d.mapping?.executable?.filename;
  const vars = d.mapping?.['nvram-template']?.filename;
  if (!d['interface-types']?.includes('uefi') || d.mapping?.device !== 'flash' || !code || !vars) return undefined;
  if (!d.targets?.some((t) => t.architecture === 'x86_64')) return undefined;
  if (!features.has('secure-boot') || !features.has('enrolled-keys')) return undefined;
  return { code, varsTemplate: vars };
}

/** OVMF with Secure Boot enforced and Microsoft's keys: from QEMU's firmware descriptors, else by the usual names. */
export function findSecureOvmf(o: FindOvmfOptions = {}): OvmfFiles {
  for (const dir of o.descriptorDirs ?? FIRMWARE_DESCRIPTOR_DIRS) {
    let names: string[] = [];
    try {
      names = readdirSync(dir)
        .filter((n) => n.endsWith('.json'))
        .sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const found = parseSecureDescriptor(readFileSync(join(dir, n), 'utf8'));
      if (found && isFile(found.code) && isFile(found.varsTemplate)) return found;
    }
  }
  for (const root of o.roots ?? DEFAULT_OVMF_ROOTS) {
    for (const pair of OVMF_SECURE_PAIRS) {
      const code = join(root, pair.code);
      const varsTemplate = join(root, pair.vars);
      if (isFile(code) && isFile(varsTemplate)) return { code, varsTemplate };
    }
  }
  throw new RemasterError('UEFI firmware with Secure Boot (OVMF with Microsoft keys enrolled) not found', {
    hint: `${OVMF_HINT} (it ships OVMF_CODE_4M.ms.fd and OVMF_VARS_4M.ms.fd)`,
  });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile(); // follows symlinks; a dangling link is "missing"
  } catch {
    return false;
  }
}

/** Locate OVMF CODE and VARS from the same directory and naming family. Throws a RemasterError when there is none. */
export function findOvmf(o: FindOvmfOptions = {}): OvmfFiles {
  const roots = o.roots ?? DEFAULT_OVMF_ROOTS;
  for (const root of roots) {
    for (const pair of OVMF_NAME_PAIRS) {
      if (isSecureBootVariant(pair.code) || isSecureBootVariant(pair.vars)) continue;
      const code = join(root, pair.code);
      const varsTemplate = join(root, pair.vars);
      if (isFile(code) && isFile(varsTemplate)) return { code, varsTemplate };
    }
  }
  throw new RemasterError(
    `UEFI firmware (OVMF) not found: looked for ${OVMF_NAME_PAIRS.map((p) => `${p.code} + ${p.vars}`).join(', ')} in ${roots.join(', ')}`,
    { hint: OVMF_HINT },
  );
}

/** File name of the per-run copy of the OVMF variable store inside the work dir. */
export const VARS_COPY_NAME = 'OVMF_VARS.fd';

/**
 * Resolve firmware for one run. For UEFI, copies a fresh, writable VARS store into workDir (boot entries the
 * guest or OVMF write must never leak between runs or into the system template).
 */
export async function prepareFirmware(kind: FirmwareKind, workDir: string, o: FindOvmfOptions = {}): Promise<FirmwareSetup> {
  if (kind === 'bios') return { kind: 'bios' };
  const secureBoot = kind === 'uefi-sb';
  const found = secureBoot ? findSecureOvmf(o) : findOvmf(o);
  await mkdir(workDir, { recursive: true });
  const vars = join(workDir, VARS_COPY_NAME);
  await copyFile(found.varsTemplate, vars);
  await chmod(vars, 0o644);
  return { kind: 'uefi', code: found.code, vars, varsTemplate: found.varsTemplate, secureBoot };
}
