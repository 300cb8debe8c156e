// verify --install, first half: run the ISO's own installer unattended in QEMU onto a blank disk. The installer is the
// ISO's d-i kernel and initrd (as its "Install" entries start it), started directly with test-only answers appended to
// a copy of the initrd; the ISO is attached as the CD-ROM it installs from. The disk is then booted on its own by the
// caller, and judged like a live boot.
import { copyFile, mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { initrdSegment } from '../installer/cpio.js';
import { mergePreseed } from '../installer/preseed.js';
import { readInitrd } from '../iso/initrd.js';
import { ISO_SECTOR } from '../iso/probe.js';
import type { IsoFile } from '../iso/xorriso.js';
import { xorrisoExtract } from '../iso/xorriso.js';
import { stripTerminalCodes } from '../qemu/phases.js';
import { type BootResult, bootAndCollect } from '../qemu/launch.js';
import type { Accel } from '../qemu/accel.js';
import type { Firmware } from '../types.js';
import { readTemplate } from '../units/render.js';

/** The installer's kernel command line: answers read from the initrd's /preseed.cfg, text frontend on the serial
 * console (its questions are readable there); after "---", what the installed system boots with. */
export const INSTALL_APPEND = 'auto=true priority=critical DEBIAN_FRONTEND=text console=ttyS0,115200n8 --- console=ttyS0,115200n8';

/** Size of the blank disk (sparse: only what the installer writes takes space). */
// 16 GiB: Debian 13's "atomic" recipe wants 8000 MB for / alone, plus 768 MB for the ESP under UEFI and swap (an 8 GiB
// disk made partman stop on "Unable to satisfy all constraints on the partition" under OVMF, not under SeaBIOS).
export const INSTALL_DISK_BYTES = 16 * 1024 ** 3;

/** The text-frontend pair (kernel, initrd) among d-i's initrds on the medium: /install/initrd.gz rather than gtk's. */
export function textInstaller(initrds: readonly string[]): { kernel: string; initrd: string } | undefined {
  const initrd = [...initrds].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b))[0];
  return initrd ? { kernel: posix.join(posix.dirname(initrd), 'vmlinuz'), initrd } : undefined;
}

export interface InstallDiagnosis {
  ok: boolean;
  kind?: 'installer-question' | 'partitioning-failed' | 'bootloader-failed' | 'install-timeout' | 'installer-exited' | undefined;
  message?: string | undefined;
}

/** d-i's console on a serial line: terminal codes gone, and the status bar of its screen multiplexer
 * ("[ (1*installer) 2 shell 3 shell 4- log ][ Dec 03 15:45 ]") cut out of the lines it interrupts. */
export function installerConsole(console: string): string[] {
  return stripTerminalCodes(console)
    .replace(/\[[^\]\n]*\(\d\*[a-z]+\)[^\]\n]*\]\[[^\]\n]*\]/g, '')
    .split('\n')
    .map((l) => l.trimEnd());
}

/**
 * The last question d-i's text frontend put on the console: its title (underlined with dashes), then the text under
 * it ("!! ERROR: GRUB installation failed", the explanation, the prompt).
 */
export function lastQuestion(console: string): { title: string; text: string[] } | undefined {
  const lines = installerConsole(console);
  for (let i = lines.length - 2; i >= 0; i--) {
    const title = (lines[i] ?? '').trim();
    if (title && /^-{3,}$/.test((lines[i + 1] ?? '').trim())) {
      const text = lines
        .slice(i + 2)
        .map((l) => l.trim())
        .filter((l) => l !== '')
        .slice(0, 12);
      return { title, text };
    }
  }
  return undefined;
}

/**
 * The console text whose growth is progress: complete lines without the screen's status bar. A clock redraw is written
 * with no newline and may be read half-written; it never adds a line.
 */
export function installerProgressText(console: string): string {
  return installerConsole(console.slice(0, console.lastIndexOf('\n') + 1))
    .join('\n')
    .trimEnd();
}

/** The d-i component main-menu last started, from syslog text ("main-menu[2515]: INFO: Menu item 'bootstrap-base' selected"). */
export function installerStep(syslog: string): string | undefined {
  const found = [...syslog.matchAll(/Menu item '([^']+)' selected/g)].at(-1)?.[1];
  return found === undefined ? undefined : `d-i: ${found}`;
}

const PROMPT = /\[Press enter to continue\]|Prompt: '\?' for help|\[[Yy]\/[Nn]\]|\[[Nn]\/[Yy]\]/;

/** A console whose last question waits for an answer: the question's title, else undefined. */
export function waitingOn(console: string): string | undefined {
  const q = lastQuestion(console);
  return q && q.text.some((l) => PROMPT.test(l)) ? q.title : undefined;
}

/** What an installer run came to: finished (powered off after finish-install), or where and why it stopped. */
export function diagnoseInstall(
  r: Pick<BootResult, 'outcome' | 'stuck'>,
  serial: string,
  syslog: string,
  timeoutMs: number,
): InstallDiagnosis {
  const clean = stripTerminalCodes(serial);
  const finished = /reboot: (Power down|Restarting system)/.test(clean) && /finish-install/.test(syslog);
  if (r.outcome === 'powered-off' && finished) return { ok: true };
  const q = lastQuestion(serial);
  const words = q?.text.map((l) => l.replace(PROMPT, '').trim()).filter(Boolean) ?? [];
  const quoted = q ? `"${q.title}"${words.length ? `: ${words.slice(0, 4).join(' ')}` : ''}` : undefined;
  if (q && (r.stuck || r.outcome === 'timeout')) {
    if (/partition/i.test(q.title))
      return { ok: false, kind: 'partitioning-failed', message: `partitioning failed: the installer stopped on ${quoted}` };
    if (/GRUB|boot ?loader/i.test(q.title))
      return { ok: false, kind: 'bootloader-failed', message: `the boot loader install failed: the installer stopped on ${quoted}` };
    return { ok: false, kind: 'installer-question', message: `the installer stopped on a question it had no answer for: ${quoted}` };
  }
  if (r.outcome === 'timeout') {
    return {
      ok: false,
      kind: 'install-timeout',
      message: `the install did not finish within ${Math.round(timeoutMs / 60000)} min; last console line: "${clean.trimEnd().split('\n').at(-1) ?? ''}"`,
    };
  }
  return {
    ok: false,
    kind: 'installer-exited',
    message: `the installer's VM ended before the install finished (${r.outcome}); last console line: "${clean.trimEnd().split('\n').at(-1) ?? ''}"`,
  };
}

export interface InstallRunOptions {
  iso: string;
  files: readonly IsoFile[];
  /** d-i's initrds on the medium (the inspect result's d-i-live-installer entry). */
  initrds: readonly string[];
  /** The firmware the installer runs under: the disk gets that firmware's boot loader. */
  firmware: Exclude<Firmware, 'uefi-sb'>;
  accel: Exclude<Accel, 'auto'>;
  timeoutMs: number;
  /** Evidence and scratch: install-serial.log, install-syslog.log, screenshots, the disk image. */
  dir: string;
  signal?: AbortSignal | undefined;
  onLine?: ((line: string) => void) | undefined;
}

export interface InstallRun {
  boot: BootResult;
  diagnosis: InstallDiagnosis;
  disk: string;
  syslog: string;
  seconds: number;
}

/** Install the ISO onto a fresh disk in QEMU with test-only answers; the disk is left for the caller to boot. */
export async function installToDisk(o: InstallRunOptions): Promise<InstallRun> {
  const pair = textInstaller(o.initrds);
  if (!pair) throw new Error('internal: no d-i initrd to install with');
  await mkdir(o.dir, { recursive: true });
  const kernel = join(o.dir, 'vmlinuz');
  const initrd = join(o.dir, 'initrd.gz');
  await xorrisoExtract(
    o.iso,
    [
      { from: pair.kernel, to: kernel },
      { from: pair.initrd, to: initrd },
    ],
    { signal: o.signal },
  );
  // The medium's own answers (the site's --preseed, merged at build time) stay; the test's win where they overlap.
  const f = o.files.find((x) => x.path === pair.initrd);
  const own = f ? (await readInitrd(o.iso, f.lba * ISO_SECTOR, f.bytes, (n) => n === 'preseed.cfg')).files.get('preseed.cfg') : undefined;
  const answers = mergePreseed([
    ...(own === undefined ? [] : [{ source: `${pair.initrd}: /preseed.cfg on the medium`, text: own }]),
    { source: 'remaster verify --install (test only)', text: readTemplate('verify-install.preseed') },
  ]);
  const segment = initrdSegment(
    [
      { path: 'preseed.cfg', mode: 0o644, content: answers },
      { path: 'usr/lib/debian-installer-startup.d/S11remaster-syslog', mode: 0o755, content: readTemplate('verify-install-syslog.sh') },
    ],
    0,
  );
  const testInitrd = join(o.dir, 'initrd-verify.gz');
  await copyFile(initrd, testInitrd);
  await writeFile(testInitrd, Buffer.concat([await readFile(testInitrd), segment]));
  await writeFile(join(o.dir, 'answers.preseed'), answers);
  const disk = join(o.dir, 'disk.img');
  await rm(disk, { force: true });
  await writeFile(disk, '');
  await truncate(disk, INSTALL_DISK_BYTES);
  const syslog = join(o.dir, 'install-syslog.log');
  const boot = await bootAndCollect({
    iso: o.iso,
    kernel: { kernel, initrd: testInitrd, append: INSTALL_APPEND },
    firmware: o.firmware,
    media: 'disk',
    accel: o.accel,
    timeoutMs: o.timeoutMs,
    workDir: o.dir,
    disks: [disk],
    until: 'poweroff',
    auxLog: syslog,
    isolatedNic: true,
    waitingOn,
    consoleText: installerProgressText,
    auxStep: installerStep,
    ...(o.signal ? { signal: o.signal } : {}),
    onLine: (l) => o.onLine?.(`installer: ${l}`),
  });
  const serial = await readFile(boot.serialLogPath, 'utf8').catch(() => '');
  const log = await readFile(syslog, 'utf8').catch(() => '');
  for (const f of [kernel, initrd, testInitrd]) await rm(f, { force: true });
  return { boot, diagnosis: diagnoseInstall(boot, serial, log, o.timeoutMs), disk, syslog, seconds: Math.round(boot.durationMs / 1000) };
}
