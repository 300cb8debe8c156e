// Typed wrapper around xorriso: pure argv builders, the calls, and parsers of its machine-readable reports.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunOptions, run } from '../exec/run.js';
import { mib } from '../util/format.js';
import { pctText, Throttle, type ThrottleOptions } from '../util/progress.js';

export type Platform = 'BIOS' | 'UEFI' | 'PPC' | 'Mac' | string;

export interface ElToritoImage {
  index: number;
  platform: Platform;
  bootable: boolean;
  emulation: string;
  loadSize: number;
  lba: number;
  /** ISO path of the boot image, when it is a file in the tree (an appended partition has none). */
  path?: string;
  options: string[];
}

export interface ElToritoReport {
  catalogPath?: string;
  images: ElToritoImage[];
}

export interface MbrPartition {
  index: number;
  bootable: boolean;
  type: number;
  start: number;
  blocks: number;
  path?: string;
}

export interface SystemAreaReport {
  /** e.g. "MBR isohybrid cyl-align-on GPT", "MBR protective-msdos-label grub2-mbr cyl-align-off GPT" */
  summary: string;
  mbr: MbrPartition[];
  gpt: boolean;
  /** Partitions appended after the ISO filesystem (Ubuntu's EFI partition): MBR entries with no ISO path beyond the image. */
  isoSizeBlocks512?: number;
  /** MBR geometry: 512-byte blocks per cylinder (heads per cylinder x sectors per head), when xorriso reports it. */
  cylinderBlocks512?: number;
  /** GPT entries (type GUID as xorriso prints it, start and size in 512-byte blocks, ISO path when a file). */
  gptPartitions?: { index: number; type: string; start: number; blocks: number; path?: string }[];
}

export interface IsoFile {
  path: string;
  lba: number;
  bytes: number;
}

export interface IsoReport {
  volumeId?: string;
  files: IsoFile[];
  elTorito: ElToritoReport;
  systemArea: SystemAreaReport;
}

/** xorriso -indev ISO: list every file with its LBA and size, then the El Torito and system area reports. */
export function reportArgs(iso: string): string[] {
  return [
    '-abort_on',
    'FAILURE',
    '-return_with',
    'SORRY',
    '32',
    '-indev',
    iso,
    '-find',
    '/',
    '-type',
    'f',
    '-exec',
    'report_lba',
    '--',
    '-report_el_torito',
    'plain',
    '-report_system_area',
    'plain',
  ];
}

export async function xorrisoReport(iso: string, io: RunOptions = {}): Promise<IsoReport> {
  const r = await run('xorriso', reportArgs(iso), io);
  return parseReport(`${r.stdout}\n${r.stderr}`);
}

export interface MapEntry {
  /** Host file (or directory) to put into the ISO. */
  source: string;
  /** Absolute ISO path. */
  target: string;
}

export interface ModifyOptions {
  indev: string;
  outdev: string;
  map: readonly MapEntry[];
  remove?: readonly string[];
  /** The base's volume modification date (16 digits, GMT): kept so GRUB's search --fs-uuid still finds it. */
  volumeUuid?: string | undefined;
  /** SOURCE_DATE_EPOCH: every file date fixed, for reproducible output. */
  sourceDateEpoch?: number | undefined;
}

/**
 * Modify, don't re-create: load the base, map our files in, replay its boot setup (El Torito entries,
 * MBR/GPT, appended partitions) and write a new image. Needs xorriso >= 1.5.4 (-boot_image any replay).
 */
export function modifyArgs(o: ModifyOptions): string[] {
  const args = ['-abort_on', 'FAILURE', '-return_with', 'SORRY', '32', '-indev', o.indev, '-outdev', o.outdev];
  for (const path of o.remove ?? []) args.push('-rm_r', path, '--');
  for (const m of [...o.map].sort((a, b) => a.target.localeCompare(b.target))) {
    args.push('-map', m.source, m.target);
  }
  if (o.volumeUuid !== undefined) args.push('-volume_date', 'uuid', o.volumeUuid);
  else if (o.sourceDateEpoch !== undefined) args.push('-volume_date', 'uuid', xorrisoDate(o.sourceDateEpoch));
  if (o.sourceDateEpoch !== undefined) args.push('-volume_date', 'all_file_dates', xorrisoDate(o.sourceDateEpoch));
  args.push('-boot_image', 'any', 'replay', '-padding', 'included', '-commit');
  return args;
}

export const xorrisoModify = (o: ModifyOptions, io: RunOptions = {}) => run('xorriso', modifyArgs(o), io);

/** Extract ISO paths to host paths. */
export function extractArgs(iso: string, pairs: readonly { from: string; to: string }[]): string[] {
  const args = ['-abort_on', 'FAILURE', '-osirrox', 'on', '-indev', iso];
  for (const p of pairs) args.push('-extract', p.from, p.to);
  return args;
}

export const xorrisoExtract = (iso: string, pairs: readonly { from: string; to: string }[], io: RunOptions = {}) =>
  run('xorriso', extractArgs(iso, pairs), io);

/** Small text files of the ISO (menus, lists), read with one xorriso run: ISO path -> text. */
export async function readIsoTexts(iso: string, paths: readonly string[], io: RunOptions = {}): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (paths.length === 0) return out;
  const dir = await mkdtemp(join(tmpdir(), 'remaster-texts-'));
  try {
    const pairs = paths.map((p, i) => ({ from: p, to: join(dir, String(i)) }));
    await xorrisoExtract(iso, pairs, io);
    for (const { from, to } of pairs) out.set(from, await readFile(to, 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

/** YYYYMMDDhhmmsscc in UTC, the form -volume_date accepts. */
export function xorrisoDate(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`;
}

/** xorriso quotes paths in single quotes, writing a quote inside as '"'"'. */
export function unquote(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return out + text.slice(i + 1);
      out += text.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) return out + text.slice(i + 1);
      out += text.slice(i + 1, end);
      i = end + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

export function parseReport(text: string): IsoReport {
  const lines = text.split('\n');
  const files = new Map<string, IsoFile>();
  const images = new Map<number, ElToritoImage>();
  const mbr = new Map<number, MbrPartition>();
  let heads = 0;
  let secs = 0;
  const report: IsoReport = {
    files: [],
    elTorito: { images: [] },
    systemArea: { summary: '', mbr: [], gpt: false },
  };
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    switch (key) {
      case 'Volume id':
        report.volumeId = unquote(value);
        break;
      case 'File data lba': {
        // xt , Startlba , Blocks , Filesize , 'path'
        const m = /^(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(.*)$/.exec(value);
        if (!m) break;
        const path = unquote(m[5] ?? '');
        const prev = files.get(path);
        const bytes = Number(m[4]);
        if (prev) prev.bytes += bytes;
        else files.set(path, { path, lba: Number(m[2]), bytes });
        break;
      }
      case 'El Torito cat path':
        report.elTorito.catalogPath = unquote(value);
        break;
      case 'El Torito boot img': {
        const f = value.split(/\s+/);
        const index = Number(f[0]);
        if (!Number.isInteger(index)) break;
        images.set(index, {
          index,
          platform: f[1] ?? '',
          bootable: f[2] === 'y',
          emulation: f[3] ?? '',
          loadSize: Number(f[6]),
          lba: Number(f[7]),
          options: [],
        });
        break;
      }
      case 'El Torito img path': {
        const m = /^(\d+)\s+(.*)$/.exec(value);
        const img = m && images.get(Number(m[1]));
        if (img && m) img.path = unquote(m[2] ?? '');
        break;
      }
      case 'El Torito img opts': {
        const m = /^(\d+)\s+(.*)$/.exec(value);
        const img = m && images.get(Number(m[1]));
        if (img && m) img.options = (m[2] ?? '').split(/\s+/).filter(Boolean);
        break;
      }
      case 'System area summary':
        report.systemArea.summary = value;
        report.systemArea.gpt = /\bGPT\b/.test(value);
        break;
      case 'ISO image size/512':
        report.systemArea.isoSizeBlocks512 = Number(value);
        break;
      case 'MBR heads per cyl':
        heads = Number(value);
        break;
      case 'MBR secs per head':
        secs = Number(value);
        break;
      case 'MBR partition': {
        const f = value.split(/\s+/);
        const index = Number(f[0]);
        if (!Number.isInteger(index)) break;
        mbr.set(index, {
          index,
          bootable: f[1] === '0x80',
          type: Number.parseInt(f[2] ?? '0', 16),
          start: Number(f[3]),
          blocks: Number(f[4]),
        });
        break;
      }
      case 'MBR partition path': {
        const m = /^(\d+)\s+(.*)$/.exec(value);
        const p = m && mbr.get(Number(m[1]));
        if (p && m) p.path = unquote(m[2] ?? '');
        break;
      }
      case 'GPT type GUID':
      case 'GPT start and size':
      case 'GPT partition path': {
        report.systemArea.gpt = true;
        const m = /^(\d+)\s+(.*)$/.exec(value);
        if (!m) break;
        const index = Number(m[1]);
        const parts = (report.systemArea.gptPartitions ??= []);
        let p = parts.find((x) => x.index === index);
        if (!p) {
          p = { index, type: '', start: 0, blocks: 0 };
          parts.push(p);
        }
        const rest = m[2] ?? '';
        if (key === 'GPT type GUID') p.type = rest.trim().toLowerCase();
        else if (key === 'GPT partition path') p.path = unquote(rest);
        else {
          const [a, b] = rest.trim().split(/\s+/);
          p.start = Number(a);
          p.blocks = Number(b);
        }
        break;
      }
      default:
        if (key.startsWith('GPT')) report.systemArea.gpt = true;
    }
  }
  report.files = [...files.values()].sort((a, b) => a.path.localeCompare(b.path));
  report.elTorito.images = [...images.values()].sort((a, b) => a.index - b.index);
  report.systemArea.mbr = [...mbr.values()].sort((a, b) => a.index - b.index);
  if (heads > 0 && secs > 0) report.systemArea.cylinderBlocks512 = heads * secs;
  return report;
}

export interface XorrisoPacifier {
  pct: number;
  /** 2 KiB sectors written so far. */
  sectors: number;
}

/** xorriso's write pacifier: "xorriso : UPDATE : Writing:     116381s   67.7%   fifo 100%  buf  50%  285.4xD". */
export function parseXorrisoPacifier(line: string): XorrisoPacifier | undefined {
  const m = /UPDATE\s*:\s*Writing:\s+(\d+)s\s+([\d.]+)%/.exec(line);
  if (!m) return undefined;
  return { sectors: Number(m[1]), pct: Number(m[2]) };
}

/** onLine for xorriso: the write pacifier becomes a throttled percentage. */
export function xorrisoProgress(emit: (text: string) => void, label: string, o: ThrottleOptions = {}): (line: string) => boolean {
  const t = new Throttle(emit, o);
  return (line) => {
    const p = parseXorrisoPacifier(line);
    if (!p) return false;
    t.report(p.pct, `${label}: ${pctText(p.pct)} (${mib(p.sectors * 2048)})`);
    return true;
  };
}
