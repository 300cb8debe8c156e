// Derives boot phases (firmware, bootloader, kernel, userspace, loader, reported) from the serial and firmware logs.

export type PhaseName = 'firmware' | 'bootloader' | 'kernel' | 'userspace' | 'loader' | 'reported';
export const PHASE_ORDER: readonly PhaseName[] = ['firmware', 'bootloader', 'kernel', 'userspace', 'loader', 'reported'];

/** How a phase is named in progress lines: the guest's report arriving is the end of the boot, "done". */
export function phaseLabel(name: PhaseName): string {
  return name === 'reported' ? 'done' : name;
}

export interface Phase {
  name: PhaseName;
  /** Milliseconds since QEMU was started. */
  atMs: number;
}

/** Which log a line came from: the guest's first serial port, or SeaBIOS's debug port 0x402. */
export type LogSource = 'serial' | 'firmware';

const TERMINAL_CODES: readonly RegExp[] = [
  /\x1b\[[0-9;?=<>]*[ -/]*[@-~]/g, // CSI: colours, cursor moves, ESC[=3h
  /\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, // OSC, ended by BEL or ST
  /\x1b[%()*+#-/][ -~]/g, // three bytes: charset selection (ESC ( B, ESC % @)
  /\x1b[0-~]/g, // two bytes: ESC e, ESC 7, ESC =
  /[\x00-\x08\x0b-\x1f\x7f]/g, // stray control bytes (keeps \t and \n)
];

/** Remove terminal escape sequences (GRUB and OVMF draw with them), carriage returns and other control bytes. */
export function stripTerminalCodes(text: string): string {
  return TERMINAL_CODES.reduce((t, re) => t.replace(re, ''), text);
}

/** Firmware handed over to a boot loader: SeaBIOS jumps to the boot sector / OVMF starts a boot option. */
const BOOTLOADER_FIRMWARE = /Booting from [0-9a-f]{4}:[0-9a-f]{4}/i;
const BOOTLOADER_SERIAL =
  /BdsDxe: starting Boot[0-9A-F]+ "(?!EFI Internal Shell)|Welcome to GRUB|GNU GRUB\s+version|ISOLINUX \d|SYSLINUX \d|will be executed automatically in|Press \[?Tab\]? to edit/;
/** A boot menu is on screen (the moment to screenshot it). */
export const MENU_MARKER = /GNU GRUB\s+version|will be executed automatically in|Press \[?Tab\]? to edit|Automatic boot in \d+ seconds?/;
const KERNEL = /Linux version \d/;
const USERSPACE = /systemd\[1\]:|Welcome to (?!GRUB)\S|\[\s+OK\s+\] (Started|Reached|Finished)| login: ?$/;
/** remaster's image loader started: systemd's "Starting remaster-loader.service" or the loader's own lines. */
const LOADER = /Starting remaster-loader\.s|remaster-loader\[\d+\]:/;

/** The phases one clean line (escape codes removed) proves were reached. */
export function phaseMarkers(line: string, source: LogSource): PhaseName[] {
  const found: PhaseName[] = [];
  if (source === 'firmware') {
    if (BOOTLOADER_FIRMWARE.test(line)) found.push('bootloader');
    return found;
  }
  if (BOOTLOADER_SERIAL.test(line)) found.push('bootloader');
  if (KERNEL.test(line)) found.push('kernel');
  if (USERSPACE.test(line)) found.push('userspace');
  if (LOADER.test(line)) found.push('loader');
  return found;
}

/**
 * Feeds on log text as it grows and records the first time each phase is seen. `firmware` is the first output of
 * any kind (SeaBIOS's banner on port 0x402, OVMF's first console output on serial). Phases are recorded as observed;
 * one the logs never show (isolinux without a `serial` directive prints nothing) is simply absent.
 */
export class PhaseTracker {
  readonly phases: Phase[] = [];
  /** When a boot menu was first seen on the serial console, if ever. */
  menuSeenAtMs: number | undefined;
  private readonly partial: Record<LogSource, string> = { serial: '', firmware: '' };

  constructor(private readonly onPhase?: (phase: Phase) => void) {}

  has(name: PhaseName): boolean {
    return this.phases.some((p) => p.name === name);
  }

  get(name: PhaseName): Phase | undefined {
    return this.phases.find((p) => p.name === name);
  }

  /** The furthest phase reached, in boot order. */
  lastPhase(): PhaseName | undefined {
    return [...PHASE_ORDER].reverse().find((n) => this.has(n));
  }

  /** Record a phase unless already seen. Returns true when it is new. */
  mark(name: PhaseName, atMs: number): boolean {
    if (this.has(name)) return false;
    const phase = { name, atMs: Math.round(atMs) };
    this.phases.push(phase);
    this.phases.sort((a, b) => PHASE_ORDER.indexOf(a.name) - PHASE_ORDER.indexOf(b.name));
    this.onPhase?.(phase);
    return true;
  }

  /** Feed newly appended log text observed at atMs. */
  feed(source: LogSource, chunk: string, atMs: number): void {
    if (chunk.length === 0) return;
    this.mark('firmware', atMs);
    const text = this.partial[source] + chunk;
    const lines = text.split('\n');
    const tail = lines.pop() ?? '';
    // Keep at most a few KB of an unterminated line (GRUB redraws menus without newlines).
    this.partial[source] = tail.length > 4096 ? tail.slice(-4096) : tail;
    for (const raw of [...lines, tail]) {
      const line = stripTerminalCodes(raw);
      if (!line) continue;
      for (const name of phaseMarkers(line, source)) this.mark(name, atMs);
      if (source === 'serial' && this.menuSeenAtMs === undefined && MENU_MARKER.test(line)) this.menuSeenAtMs = atMs;
    }
  }
}
