// npm run bench: remaster (layer and rebuild mode) against the naive shell recipe and the copy floor, on the same
// realistic inputs, in the same run; five variants sharing caches against one; boot-to-images-usable times.
// Writes bench/results.json and prints a markdown table of ratios against the targets of issue #6. `xzbase`: one layer
// build on the base and one on an xz copy of it (issue 17: the layer's compressor follows the kernel, not the base).
// `installed`: the installer fixture remastered with docker (load, then ready store), installed by its own d-i onto a
// blank disk under SeaBIOS, and the first boot of that disk timed to images usable (20-30 min per install under TCG).
import { spawn } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BuildReport, VariantsReport } from '../src/build.js';
import { defaultCacheDir } from '../src/config/paths.js';
import type { StageTiming } from '../src/pipeline/context.js';
import { debianInstallerRecipe, ensureDebianLiveIso, removeWorkDir } from '../src/fixture/debian-live.js';
import { ensureRecompressedIso } from '../src/fixture/recompress.js';
import { inspectIso } from '../src/iso/inspect.js';
import { benchBaseRecipe, benchImages, type BenchInputs, ensureBenchInputs } from './inputs.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(REPO, 'dist', 'src', 'cli', 'main.js');
const NAIVE = join(REPO, 'bench', 'naive.sh');
const RESULTS = join(REPO, 'bench', 'results.json');

const USAGE = `npm run bench -- [--runs <n>] [--no-boot] [--only copy,layer,rebuild,naive,variants,boot,xzbase,installed] [--cache-dir <dir>]
  [--remaster-args "<flags>"]   added to every remaster build, e.g. "--compression-level 3"
  --runs <n>      timed runs of each build (median reported; default 3)
  --no-boot       skip the boot-to-images-usable measurements (live boots and installed disks)
  --only <list>   run only these measurements (default: all)
  --cache-dir     where the inputs are cached (default $REMASTER_CACHE_DIR or ~/.cache/remaster)`;

const ALL = ['copy', 'layer', 'rebuild', 'naive', 'variants', 'boot', 'xzbase', 'installed'] as const;
type Part = (typeof ALL)[number];

interface Timed {
  seconds: number;
  /** Peak resident set of the remaster process (VmHWM), MiB. */
  peakRssMiB?: number | undefined;
  isoBytes?: number | undefined;
  stages?: StageTiming[] | undefined;
  report?: BuildReport | undefined;
}

interface Series {
  runs: Timed[];
  medianSeconds: number;
}

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} bench: ${msg}\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/** Run a command; resolves with wall seconds and the peak RSS of the process itself (polled VmHWM). */
function timedRun(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; stdoutFile?: string } = {}) {
  return new Promise<{ seconds: number; peakRssMiB: number; stdout: string; stderr: string; code: number | null }>((res, rej) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-20000);
    });
    let peak = 0;
    const poll = setInterval(() => {
      readFile(`/proc/${child.pid}/status`, 'utf8')
        .then((s) => {
          const m = /^VmHWM:\s+(\d+) kB/m.exec(s);
          if (m) peak = Math.max(peak, Number(m[1]) / 1024);
        })
        .catch(() => {});
    }, 100);
    child.on('error', (e) => {
      clearInterval(poll);
      rej(e);
    });
    child.on('close', (code) => {
      clearInterval(poll);
      res({ seconds: (performance.now() - t0) / 1000, peakRssMiB: Math.round(peak), stdout, stderr, code });
    });
  });
}

async function sizeOf(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => undefined))?.size;
}

class Bench {
  readonly scratch: string;
  readonly warm: string;

  constructor(
    readonly inputs: BenchInputs,
    readonly cacheDir: string,
    readonly extraArgs: readonly string[] = [],
  ) {
    this.scratch = join(cacheDir, 'bench', 'scratch');
    this.warm = join(this.scratch, 'warm-cache');
  }

  imageArgs(): string[] {
    return this.inputs.images.flatMap((i) => ['--image', `rootfs:${i.tar}=${i.ref}`]);
  }

  /**
   * A fresh remaster cache for one timed run: no image archives (every run compresses its payload), but the
   * .deb downloads and package lists of the warm-up build, so no measurement includes the network.
   */
  async freshCache(name: string): Promise<string> {
    const dir = join(this.scratch, name);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await cp(join(this.warm, 'apt'), join(dir, 'apt'), { recursive: true });
    return dir;
  }

  async remaster(name: string, args: string[], cacheDir: string, baseIso = this.inputs.baseIso): Promise<Timed> {
    const out = join(this.scratch, `${name}.iso`);
    const logFile = join(this.scratch, `${name}.log`);
    await rm(logFile, { force: true });
    const r = await timedRun(process.execPath, [
      CLI,
      'build',
      '--iso',
      baseIso,
      '--out',
      out,
      '--cache-dir',
      cacheDir,
      '--json',
      '-q',
      '--log-file',
      logFile,
      ...args,
      ...this.extraArgs,
    ]);
    let report: BuildReport | undefined;
    try {
      report = JSON.parse(r.stdout) as BuildReport;
    } catch {
      report = undefined;
    }
    if (r.code !== 0) throw new Error(`remaster build ${name} failed (exit ${r.code}):\n${r.stderr.slice(-4000)}\nlog: ${logFile}`);
    const isoBytes = await sizeOf(out);
    await rm(out, { force: true });
    log(`${name}: ${r.seconds.toFixed(1)} s, peak RSS ${r.peakRssMiB} MiB, ISO ${mib(isoBytes)}`);
    return { seconds: r.seconds, peakRssMiB: r.peakRssMiB, isoBytes, stages: report?.stages, report };
  }

  async warmUp(): Promise<void> {
    await rm(this.scratch, { recursive: true, force: true });
    await mkdir(this.warm, { recursive: true });
    log('warm-up build (fills the .deb cache; not timed)');
    await this.remaster('warm-up', ['--engine', 'docker', ...this.imageArgs(), '--verify', 'none'], this.warm);
    // The warm-up's archives must not help the timed runs.
    await rm(join(this.warm, 'images'), { recursive: true, force: true });
  }

  async layer(i: number, mode: 'layer' | 'rebuild'): Promise<Timed> {
    const cache = await this.freshCache(`cache-${mode}-${i}`);
    try {
      return await this.remaster(
        `${mode}-${i}`,
        ['--engine', 'docker', ...this.imageArgs(), '--verify', 'none', '--rootfs-mode', mode],
        cache,
      );
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  }

  async naive(i: number): Promise<Timed> {
    const out = join(this.scratch, `naive-${i}.iso`);
    const work = join(this.scratch, `naive-work-${i}`);
    await removeWorkDir(work);
    const r = await timedRun(NAIVE, [this.inputs.baseIso, out, ...this.inputs.images.map((img) => `${img.tar}=${img.ref}`)], {
      env: { NAIVE_WORK: work, NAIVE_APT_ARCHIVES: join(this.warm, 'apt', 'archives') },
    });
    if (r.code !== 0) throw new Error(`bench/naive.sh failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
    const isoBytes = await sizeOf(out);
    await rm(out, { force: true });
    await removeWorkDir(work);
    log(`naive-${i}: ${r.seconds.toFixed(1)} s, ISO ${mib(isoBytes)}`);
    return { seconds: r.seconds, isoBytes };
  }

  /** cp of the base ISO plus zstd -T0 (default level) of every image tarball. */
  async copyFloor(i: number): Promise<Timed> {
    const dir = join(this.scratch, `copy-${i}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const t0 = performance.now();
    await mustRun('cp', [this.inputs.baseIso, join(dir, 'base.iso')]);
    for (const img of this.inputs.images)
      await mustRun('zstd', ['-q', '-T0', img.tar, '-o', join(dir, `${img.ref.replace(/\W/g, '_')}.tar.zst`)]);
    const seconds = (performance.now() - t0) / 1000;
    await rm(dir, { recursive: true, force: true });
    log(`copy-${i}: ${seconds.toFixed(1)} s`);
    return { seconds };
  }

  /** Customer variant v's keys: the bench images, the first with its own run unit. */
  variantKeys(v: number): Record<string, unknown> {
    return {
      images: this.inputs.images.map((img, k) => ({
        source: `rootfs:${img.tar}=${img.ref}`,
        ...(k === 0 ? { run: { name: `customer${v}-agent`, command: ['sleep', 'infinity'] } } : {}),
      })),
    };
  }

  /** The same five variants as one `variants:` file: one remaster run on a fresh cache. */
  async variantsOneRun(): Promise<Timed & { variantSeconds: number[] }> {
    const cache = await this.freshCache('cache-variants-one-run');
    const config = join(this.scratch, 'variants.json');
    const outs = [1, 2, 3, 4, 5].map((v) => join(this.scratch, `one-run-${v}.iso`));
    await writeFile(
      config,
      JSON.stringify({
        iso: this.inputs.baseIso,
        engine: 'docker',
        verify: 'none',
        cacheDir: cache,
        variants: outs.map((out, i) => ({ out, ...this.variantKeys(i + 1) })),
      }),
    );
    const r = await timedRun(process.execPath, [CLI, 'build', '-c', config, '--json', '-q', ...this.extraArgs]);
    if (r.code !== 0) throw new Error(`remaster build (variants in one run) failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
    const report = JSON.parse(r.stdout) as VariantsReport;
    for (const out of outs) await rm(out, { force: true });
    await rm(cache, { recursive: true, force: true });
    log(`variants in one run: ${r.seconds.toFixed(1)} s, peak RSS ${r.peakRssMiB} MiB`);
    return { seconds: r.seconds, peakRssMiB: r.peakRssMiB, variantSeconds: report.variants.map((v) => v.report?.seconds ?? 0) };
  }

  /** Five customer variants (own output, own run unit) sharing one cache, one after the other. */
  async variants(): Promise<{ totalSeconds: number; builds: Timed[] }> {
    const cache = await this.freshCache('cache-variants');
    const builds: Timed[] = [];
    const t0 = performance.now();
    for (let v = 1; v <= 5; v++) {
      const config = join(this.scratch, `variant-${v}.json`);
      await writeFile(config, JSON.stringify({ engine: 'docker', verify: 'none', ...this.variantKeys(v) }));
      builds.push(await this.remaster(`variant-${v}`, ['-c', config], cache));
    }
    const totalSeconds = (performance.now() - t0) / 1000;
    await rm(cache, { recursive: true, force: true });
    return { totalSeconds, builds };
  }

  /**
   * One layer build on the base (zstd root) and one on a copy of it whose root is xz (made once, cached), same
   * inputs, fresh caches: with the layer compressor chosen from the kernel, the xz base should cost about the same.
   */
  async xzBase(): Promise<XzBase> {
    const xz = await ensureRecompressedIso({ iso: this.inputs.baseIso, compression: 'xz', onLine: (l) => log(l) });
    const builds: XzBase['builds'] = [];
    for (const [base, iso] of [
      ['zstd', this.inputs.baseIso],
      ['xz', xz.path],
    ] as const) {
      const cache = await this.freshCache(`cache-base-${base}`);
      const loadAverageAtStart = loadavg()[0] ?? 0;
      try {
        const t = await this.remaster(`base-${base}`, ['--engine', 'docker', ...this.imageArgs(), '--verify', 'none'], cache, iso);
        const squash = t.stages?.find((x) => x.stage.startsWith('Write the root filesystem layer'));
        builds.push({
          base,
          seconds: t.seconds,
          squashSeconds: squash?.seconds,
          layer: t.report?.layer,
          isoBytes: t.isoBytes,
          loadAverageAtStart: Math.round(loadAverageAtStart * 100) / 100,
        });
        log(`base-${base}: layer ${t.report?.layer?.compression ?? '?'} (${t.report?.layer?.compressionReason ?? '?'})`);
      } finally {
        await rm(cache, { recursive: true, force: true });
      }
    }
    const [z, x] = builds;
    return { builds, xzVsZstd: z && x ? x.seconds / z.seconds : undefined };
  }

  /** One verified boot per way of making images usable; the guest reports when the loader finished. */
  async boot(
    kind: 'docker-load' | 'docker-ready' | 'podman-load' | 'podman-ready',
  ): Promise<Timed & { imagesUsableSeconds?: number | undefined; engineUpSeconds?: number | undefined }> {
    const engine = kind.startsWith('docker') ? 'docker' : 'podman';
    const args = ['--engine', engine, ...this.imageArgs(), '--verify', 'bios', '--verify-timeout', '3600'];
    if (kind.endsWith('-ready')) args.push('--image-store', 'ready');
    const t = await this.remaster(`boot-${kind}`, args, this.warm);
    const v = t.report?.verify[0];
    log(`boot ${kind}: images usable ${v?.imagesUsableSeconds ?? '?'} s after kernel start (dockerd up at ${v?.engineUpSeconds ?? '-'} s)`);
    return { ...t, imagesUsableSeconds: v?.imagesUsableSeconds, engineUpSeconds: v?.engineUpSeconds };
  }

  /**
   * The installed server's first boot: the installer fixture (Debian live + d-i live-installer) remastered with the
   * bench images, installed unattended by its own d-i onto a blank disk, and that disk booted alone (SeaBIOS).
   * docker-load loads the archives at that first boot; docker-ready finds them in the store the installer copied.
   */
  async installedBoot(
    kind: 'docker-load' | 'docker-ready',
  ): Promise<Timed & { imagesUsableSeconds?: number | undefined; engineUpSeconds?: number | undefined; ok?: boolean | undefined }> {
    const base = await ensureDebianLiveIso({ cacheDir: this.cacheDir, recipe: debianInstallerRecipe, onLine: (l) => log(l) });
    const args = ['--engine', 'docker', ...this.imageArgs(), '--verify', 'bios', '--verify-install', '--verify-timeout', '3600'];
    if (kind === 'docker-ready') args.push('--image-store', 'ready');
    const t = await this.remaster(`installed-${kind}`, args, this.warm, base.path);
    const v = t.report?.verify.find((o) => o.media === 'installed');
    log(
      `installed ${kind}: first boot, images usable ${v?.imagesUsableSeconds ?? '?'} s after kernel start (install ${v?.install?.seconds ?? '?'} s)`,
    );
    return { ...t, imagesUsableSeconds: v?.imagesUsableSeconds, engineUpSeconds: v?.engineUpSeconds, ok: v?.ok };
  }
}

async function mustRun(cmd: string, args: string[]): Promise<void> {
  const r = await timedRun(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function series(runs: Timed[]): Series {
  return { runs, medianSeconds: median(runs.map((r) => r.seconds)) };
}

/** Stage timings of the run whose total is the median. */
function medianStages(s: Series | undefined): StageTiming[] | undefined {
  if (!s) return undefined;
  const best = [...s.runs].sort((a, b) => Math.abs(a.seconds - s.medianSeconds) - Math.abs(b.seconds - s.medianSeconds))[0];
  return best?.stages;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      'no-boot': { type: 'boolean', default: false },
      only: { type: 'string' },
      'cache-dir': { type: 'string' },
      'remaster-args': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write(`bench: error: --runs must be a positive integer, not ${values.runs}\n`);
    return 2;
  }
  const parts = new Set<Part>(values.only ? (values.only.split(',') as Part[]) : ALL);
  for (const p of parts) {
    if (!ALL.includes(p)) {
      process.stderr.write(`bench: error: unknown measurement ${p}\nbench: hint: --only takes ${ALL.join(',')}\n`);
      return 2;
    }
  }
  if (values['no-boot']) {
    parts.delete('boot');
    parts.delete('installed');
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: error: the benchmark builds ISOs (mounts, chroot): it needs root\n');
    return 2;
  }
  const cacheDir = resolve(values['cache-dir'] ?? defaultCacheDir());
  const started = new Date();
  const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100);
  log(`inputs (built once, cached under ${cacheDir})`);
  const inputs = await ensureBenchInputs({ cacheDir, onLine: (l) => log(l) });
  const baseBytes = (await stat(inputs.baseIso)).size;
  const rootBytes = await rootUncompressedBytes(inputs.baseIso);
  const payloadBytes = inputs.images.reduce((a, i) => a + i.bytes, 0);
  log(
    `base ${inputs.baseIso}: ${mib(baseBytes)} (root ${mib(rootBytes)} uncompressed); payload ${inputs.images.length} images, ${mib(payloadBytes)}`,
  );

  const remasterArgs = (values['remaster-args'] ?? '').split(/\s+/).filter(Boolean);
  const b = new Bench(inputs, cacheDir, remasterArgs);
  await b.warmUp();

  const collected: Record<'copy' | 'layer' | 'rebuild' | 'naive', Timed[]> = { copy: [], layer: [], rebuild: [], naive: [] };
  let variants: Awaited<ReturnType<Bench['variants']>> | undefined;
  let variantsOneRun: Awaited<ReturnType<Bench['variantsOneRun']>> | undefined;
  let xzBase: XzBase | undefined;
  const boots: Record<string, Awaited<ReturnType<Bench['boot']>>> = {};
  // Written after every round and phase: an interrupted run still leaves what it measured.
  const save = async (): Promise<Results> => {
    const copy = collected.copy.length ? series(collected.copy) : undefined;
    const layer = collected.layer.length ? series(collected.layer) : undefined;
    const rebuild = collected.rebuild.length ? series(collected.rebuild) : undefined;
    const naive = collected.naive.length ? series(collected.naive) : undefined;

    const peakRss = Math.max(
      0,
      ...[layer, rebuild].flatMap((s) => s?.runs.map((r) => r.peakRssMiB ?? 0) ?? []),
      ...(variants?.builds.map((r) => r.peakRssMiB ?? 0) ?? []),
      variantsOneRun?.peakRssMiB ?? 0,
      ...Object.values(boots).map((r) => r.peakRssMiB ?? 0),
    );
    const ratios = {
      layerVsNaive: layer && naive ? naive.medianSeconds / layer.medianSeconds : undefined,
      rebuildVsNaive: rebuild && naive ? naive.medianSeconds / rebuild.medianSeconds : undefined,
      buildVsCopyFloor: layer && copy ? layer.medianSeconds / copy.medianSeconds : undefined,
      // "One" is the first variant: a single build with empty image and package caches, measured in the same
      // sequence as the other four (the layer series ran earlier, under other background load).
      fiveVariantsVsOne: variants?.builds[0] ? variants.totalSeconds / variants.builds[0].seconds : undefined,
      // The same five as one `variants:` run (fresh cache too), against the same single build.
      fiveVariantsOneRunVsOne: variants?.builds[0] && variantsOneRun ? variantsOneRun.seconds / variants.builds[0].seconds : undefined,
      // Variants 2-5 found the images compressed and the .debs downloaded: a rebuild after a small change.
      cachedBuildVsCopyFloor: variants && copy ? median(variants.builds.slice(1).map((v) => v.seconds)) / copy.medianSeconds : undefined,
    };
    const strip = (s: Series | undefined) => s && { ...s, runs: s.runs.map(({ report: _r, ...t }) => t) };
    const results: Results & Record<string, unknown> = {
      started: started.toISOString(),
      remasterArgs,
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        memoryMiB: Math.round(totalmem() / 2 ** 20),
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
        node: process.version,
      },
      runs,
      inputs: {
        baseIso: inputs.baseIso,
        baseIsoBytes: baseBytes,
        baseRootUncompressedBytes: rootBytes,
        baseExtraPackages: benchBaseRecipe.extraPackages,
        images: inputs.images.map((i) => ({ ...i, packages: benchImages.find((x) => x.ref === i.ref)?.packages })),
        payloadBytes,
      },
      series: { copy: strip(copy), layer: strip(layer), rebuild: strip(rebuild), naive: strip(naive) },
      variants: variants && {
        totalSeconds: variants.totalSeconds,
        builds: variants.builds.map((v) => ({ seconds: v.seconds, peakRssMiB: v.peakRssMiB, stages: v.stages, cache: v.report?.cache })),
        oneRun: variantsOneRun,
      },
      boots: Object.fromEntries(
        Object.entries(boots).map(([k, v]) => [
          k,
          {
            buildSeconds: v.seconds,
            imagesUsableSeconds: v.imagesUsableSeconds,
            engineUpSeconds: v.engineUpSeconds,
            ok: 'ok' in v && typeof v.ok === 'boolean' ? v.ok : v.report?.verify[0]?.ok,
            isoBytes: v.isoBytes,
            stages: v.stages,
          },
        ]),
      ),
      xzBase,
      peakRssMiB: peakRss,
      ratios,
      layerStages: medianStages(layer),
      rebuildStages: medianStages(rebuild),
    };
    await mkdir(dirname(RESULTS), { recursive: true });
    await writeFile(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
    return results;
  };
  // Interleaved rounds: background load from other work on the machine spreads over every series alike.
  for (let i = 1; i <= runs; i++) {
    if (parts.has('copy')) collected.copy.push(await b.copyFloor(i));
    if (parts.has('layer')) collected.layer.push(await b.layer(i, 'layer'));
    if (parts.has('naive')) collected.naive.push(await b.naive(i));
    if (parts.has('rebuild')) collected.rebuild.push(await b.layer(i, 'rebuild'));
    await save();
  }
  if (parts.has('variants')) {
    variants = await b.variants();
    await save();
    variantsOneRun = await b.variantsOneRun();
    await save();
  }
  if (parts.has('xzbase')) {
    xzBase = await b.xzBase();
    await save();
  }
  if (parts.has('boot')) {
    for (const k of ['docker-load', 'docker-ready', 'podman-load', 'podman-ready'] as const) {
      boots[k] = await b.boot(k);
      await save();
    }
  }
  if (parts.has('installed')) {
    for (const k of ['docker-load', 'docker-ready'] as const) {
      boots[`installed ${k} (first boot)`] = await b.installedBoot(k);
      await save();
    }
  }
  await rm(b.scratch, { recursive: true, force: true });
  process.stdout.write(markdown(await save()));
  log(`wrote ${RESULTS}`);
  return 0;
}

/** Uncompressed size of the base's root, from the squashfs superblock listing. */
async function rootUncompressedBytes(iso: string): Promise<number | undefined> {
  const info = await inspectIso(iso);
  const top = info.rootfs[0];
  if (!top) return undefined;
  const r = await timedRun('sh', ['-c', `unsquashfs -lls -o ${top.lba * 2048} '${iso}' | awk '{s+=$3} END {print s}'`]);
  const n = Number(r.stdout.trim());
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

interface XzBase {
  builds: {
    base: 'zstd' | 'xz';
    seconds: number;
    squashSeconds?: number | undefined;
    layer?: BuildReport['layer'];
    isoBytes?: number | undefined;
    loadAverageAtStart: number;
  }[];
  xzVsZstd?: number | undefined;
}

interface Results {
  runs: number;
  remasterArgs?: string[];
  machine: {
    cpus: number;
    cpuModel?: string | undefined;
    memoryMiB: number;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
    node: string;
  };
  inputs: {
    baseIso: string;
    baseExtraPackages?: readonly string[] | undefined;
    baseIsoBytes: number;
    baseRootUncompressedBytes?: number | undefined;
    payloadBytes: number;
    images: { ref: string }[];
  };
  series: Record<'copy' | 'layer' | 'rebuild' | 'naive', Series | undefined>;
  variants?: { totalSeconds: number; builds: { seconds: number }[]; oneRun?: { seconds: number } | undefined } | undefined;
  boots: Record<
    string,
    { buildSeconds: number; imagesUsableSeconds?: number | undefined; engineUpSeconds?: number | undefined; ok?: boolean | undefined }
  >;
  xzBase?: XzBase | undefined;
  peakRssMiB: number;
  ratios: Record<
    'layerVsNaive' | 'rebuildVsNaive' | 'buildVsCopyFloor' | 'fiveVariantsVsOne' | 'fiveVariantsOneRunVsOne' | 'cachedBuildVsCopyFloor',
    number | undefined
  >;
  layerStages?: StageTiming[] | undefined;
}

function markdown(r: Results): string {
  const x = (v: number | undefined) => (v === undefined ? 'n/a' : `${v.toFixed(2)}×`);
  const s = (v: number | undefined) => (v === undefined ? 'n/a' : `${v.toFixed(1)} s`);
  const met = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? 'met' : 'missed');
  const q = r.ratios;
  const lines = [
    ...(r.remasterArgs?.length ? [`remaster flags added to every build: ${r.remasterArgs.join(' ')}`] : []),
    `Machine: ${r.machine.cpus} cores (${r.machine.cpuModel ?? '?'}), ${r.machine.memoryMiB} MiB, load average (1/5/15 min) at start ${r.machine.loadAverageAtStart.join(' ')}, at end ${r.machine.loadAverageAtEnd.join(' ')}; median of ${r.runs} run(s).`,
    `Inputs: base ISO ${mib(r.inputs.baseIsoBytes)} (root ${mib(r.inputs.baseRootUncompressedBytes)} uncompressed), payload ${r.inputs.images.length} images ${mib(r.inputs.payloadBytes)} uncompressed.`,
    '',
    '| Target | Measured | Goal | |',
    '|---|---|---|---|',
    `| layer mode vs naive recipe (speed-up) | ${x(q.layerVsNaive)} | ≥ 10× | ${met(q.layerVsNaive === undefined ? undefined : q.layerVsNaive >= 10)} |`,
    `| rebuild mode vs naive recipe (speed-up) | ${x(q.rebuildVsNaive)} | (for reference) | |`,
    `| layer build vs copy floor | ${x(q.buildVsCopyFloor)} | ≤ 1.5× | ${met(q.buildVsCopyFloor === undefined ? undefined : q.buildVsCopyFloor <= 1.5)} |`,
    `| layer build with cached images and .debs vs copy floor | ${x(q.cachedBuildVsCopyFloor)} | (for reference) | |`,
    `| peak RSS of remaster | ${r.peakRssMiB} MiB | ≤ 256 MiB | ${met(r.peakRssMiB ? r.peakRssMiB <= 256 : undefined)} |`,
    `| five variants (separate builds) vs one | ${x(q.fiveVariantsVsOne)} | (for reference) | |`,
    `| five variants in one run vs one | ${x(q.fiveVariantsOneRunVsOne)} | ≤ 2× | ${met(q.fiveVariantsOneRunVsOne === undefined ? undefined : q.fiveVariantsOneRunVsOne <= 2)} |`,
    ...(r.xzBase
      ? [
          `| layer build on an xz base vs a zstd base | ${x(r.xzBase.xzVsZstd)} | ≤ 1.2× | ${met(r.xzBase.xzVsZstd === undefined ? undefined : r.xzBase.xzVsZstd <= 1.2)} |`,
        ]
      : []),
    '',
    '| Build | Median | Runs | ISO |',
    '|---|---|---|---|',
  ];
  for (const [name, label] of [
    ['copy', 'copy floor (cp ISO + zstd -T0 payload)'],
    ['layer', 'remaster, layer mode'],
    ['rebuild', 'remaster, rebuild mode'],
    ['naive', 'naive recipe (bench/naive.sh)'],
  ] as const) {
    const se = r.series[name];
    if (!se) continue;
    lines.push(
      `| ${label} | ${s(se.medianSeconds)} | ${se.runs.map((t) => t.seconds.toFixed(1)).join(', ')} | ${mib(se.runs[0]?.isoBytes)} |`,
    );
  }
  if (r.variants) {
    lines.push(
      `| five variants, shared caches | ${s(r.variants.totalSeconds)} | ${r.variants.builds.map((t) => t.seconds.toFixed(1)).join(', ')} | |`,
    );
  }
  if (r.layerStages) {
    lines.push(
      '',
      `Layer mode, per stage (median run): ${r.layerStages
        .filter((t) => !t.skipped)
        .map((t) => `${t.stage} ${t.seconds.toFixed(1)} s`)
        .join(', ')}`,
    );
  }
  for (const xb of r.xzBase?.builds ?? []) {
    lines.push(
      `${xb.base} base: ${s(xb.seconds)} (squash ${s(xb.squashSeconds)}, layer ${xb.layer?.compression ?? '?'}${xb.layer?.level ? ` level ${xb.layer.level}` : ''}: ${xb.layer?.compressionReason ?? '?'}; ISO ${mib(xb.isoBytes)}; load average ${xb.loadAverageAtStart} at start)`,
    );
  }
  const boots = Object.entries(r.boots);
  if (boots.length > 0) {
    lines.push('', '| Boot (TCG) | images usable after kernel start | after dockerd is up |', '|---|---|---|');
    for (const [k, v] of boots) {
      const afterEngine =
        v.imagesUsableSeconds !== undefined && v.engineUpSeconds !== undefined ? s(v.imagesUsableSeconds - v.engineUpSeconds) : '-';
      lines.push(`| ${k} | ${v.ok === false ? 'verification failed' : s(v.imagesUsableSeconds)} | ${afterEngine} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench: error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
