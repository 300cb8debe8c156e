// Boot menu edits, as pure text functions: extra kernel arguments, a serial console, casper's layer path, the
// menu title and timeout, for GRUB (grub.cfg, loopback.cfg) and isolinux/syslinux. Lines we do not need to touch
// are kept byte for byte.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TEMPLATES_DIR } from '../units/render.js';

const ISOLINUX_DIR = fileURLToPath(new URL('../../../isolinux/', import.meta.url));
export const SERIAL_KERNEL_ARGS = ['console=tty0', 'console=ttyS0,115200n8'];

export interface MenuEdit {
  /** ISO paths of the live kernels: only entries booting one of them get arguments. */
  kernels: readonly string[];
  addArgs?: readonly string[];
  serial?: boolean;
  /** Casper: entries whose live chain top is `from` (their own layerfs-path=, or the initrd's default) boot `to`. */
  layerfs?: { from: string; to: string; initrdDefault?: string | undefined };
  title?: string | undefined;
  timeoutSeconds?: number | undefined;
}

export interface MenuResult {
  text: string;
  /** Kernel lines changed. */
  edited: number;
  /** Live-kernel entries left without the new layer (they boot another chain), quoted. */
  otherChains: string[];
}

const sameKernel = (a: string, kernels: readonly string[]) => kernels.includes(a.replace(/^\([^)]*\)/, ''));

/** Arguments for one kernel command line: before `---` when present (after it is for the installed system). */
export function editArgs(args: string, e: MenuEdit, other: string[]): { args: string; changed: boolean } {
  const sep = /(^|\s)---(\s|$)/.exec(args);
  let live = sep ? args.slice(0, sep.index) : args;
  const rest = sep ? args.slice(sep.index) : '';
  const before = live;
  if (e.layerfs) {
    const m = /(^|\s)layerfs-path=(\S+)/.exec(live);
    const top = m?.[2] ?? e.layerfs.initrdDefault;
    if (top === e.layerfs.from) {
      live = m
        ? live.replace(/(^|\s)layerfs-path=\S+/, `$1layerfs-path=${e.layerfs.to}`)
        : `${live.trimEnd()} layerfs-path=${e.layerfs.to}`;
    } else if (top !== undefined) other.push(top);
  }
  const add = [...(e.serial ? SERIAL_KERNEL_ARGS.filter((a) => !live.split(/\s+/).includes(a)) : []), ...(e.addArgs ?? [])];
  if (add.length > 0) live = `${live.trimEnd()} ${add.join(' ')}`;
  const sepText = rest ? (live.endsWith(' ') ? '' : ' ') + rest.trimStart() : '';
  return { args: live === before ? args : `${live}${sepText}`, changed: live !== before };
}

export function editGrubCfg(text: string, menu: MenuEdit): MenuResult {
  // GRUB splits commands at an unquoted `;` (NoCloud's `ds=nocloud;s=...`): escaped, the kernel gets it whole.
  const e: MenuEdit = menu.addArgs ? { ...menu, addArgs: menu.addArgs.map((a) => a.replaceAll(';', '\\;')) } : menu;
  const other: string[] = [];
  let edited = 0;
  let titled = false;
  const lines = text.split('\n').map((line) => {
    const k = /^(\s*)(linux|linuxefi)(\s+)(\S+)(\s*)(.*)$/.exec(line);
    if (k && sameKernel(k[4] ?? '', e.kernels)) {
      const r = editArgs(k[6] ?? '', e, other);
      if (!r.changed) return line;
      edited++;
      return `${k[1]}${k[2]}${k[3]}${k[4]} ${r.args.trimStart()}`;
    }
    if (e.timeoutSeconds !== undefined && /^\s*set\s+timeout=/.test(line))
      return line.replace(/timeout=\S*/, `timeout=${e.timeoutSeconds}`);
    if (e.title !== undefined && !titled) {
      const m = /^(\s*menuentry\s+)(["'])(.*?)\2(.*)$/.exec(line);
      if (m) {
        titled = true;
        return `${m[1]}"${e.title}"${m[4]}`;
      }
    }
    return line;
  });
  const head: string[] = [];
  if (e.serial && !/^\s*serial\s/m.test(text)) head.push(...readFileSync(`${TEMPLATES_DIR}grub-serial.cfg`, 'utf8').trimEnd().split('\n'));
  if (e.timeoutSeconds !== undefined && !/^\s*set\s+timeout=/m.test(text)) head.push(`set timeout=${e.timeoutSeconds}`);
  return { text: [...head, ...lines].join('\n'), edited, otherChains: [...new Set(other)] };
}

/**
 * isolinux/syslinux: `append` lines of labels whose kernel is a live kernel. `top` marks the file isolinux reads
 * first (isolinux.cfg): only there do `serial` (which must be the first directive), `timeout` and `menu title` go.
 */
export function editIsolinuxCfg(text: string, e: MenuEdit, top: boolean): MenuResult {
  const other: string[] = [];
  let edited = 0;
  let kernel: string | undefined;
  let sawTimeout = false;
  let sawTitle = false;
  const lines = text.split('\n').map((line) => {
    const label = /^\s*label\s/i.exec(line);
    if (label) kernel = undefined;
    const k = /^\s*(kernel|linux)\s+(\S+)/i.exec(line);
    if (k) kernel = k[2];
    const a = /^(\s*append\s+)(.*)$/i.exec(line);
    if (a && kernel && sameKernel(kernel, e.kernels)) {
      const r = editArgs(a[2] ?? '', e, other);
      if (!r.changed) return line;
      edited++;
      return `${a[1]}${r.args}`;
    }
    if (top && e.timeoutSeconds !== undefined && /^\s*timeout\s/i.test(line)) {
      sawTimeout = true;
      return `timeout ${isolinuxTimeout(e.timeoutSeconds)}`;
    }
    if (top && e.title !== undefined && /^\s*menu\s+title\s/i.test(line)) {
      sawTitle = true;
      return `menu title ${e.title}`;
    }
    return line;
  });
  const head: string[] = [];
  if (top) {
    if (e.serial && !/^\s*serial\s/im.test(text)) head.push(readFileSync(`${ISOLINUX_DIR}serial.cfg`, 'utf8').trimEnd());
    if (e.timeoutSeconds !== undefined && !sawTimeout) head.push(`timeout ${isolinuxTimeout(e.timeoutSeconds)}`);
    if (e.title !== undefined && !sawTitle) head.push(`menu title ${e.title}`);
  }
  return { text: [...head, ...lines].join('\n'), edited, otherChains: [...new Set(other)] };
}

/** isolinux counts tenths of a second and reads 0 as "wait forever": the shortest real wait is 1. */
export const isolinuxTimeout = (seconds: number) => Math.max(1, Math.round(seconds * 10));

export const isGrubMenu = (isoPath: string) => /\/(grub|loopback)\.cfg$/.test(isoPath);
