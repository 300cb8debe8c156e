// Turn an ordered list of stages into one listr2 run; time each stage; always unwind mounts and the lock.
import { Listr, ListrLogger, PRESET_TIMESTAMP, ProcessOutput } from 'listr2';
import { InterruptedError } from '../errors.js';
import { quoteArgv } from '../exec/run.js';
import { type CommandTrace, withTrace } from '../exec/trace.js';
import { MountStack } from '../rootfs/mounts.js';
import type { BuildContext, Facts, Stage, StageTask } from './context.js';
import type { ResumeStore } from './resume.js';
import type { Workspace } from './workspace.js';

export type RendererChoice = 'fancy' | 'plain' | 'quiet';

export interface RunStagesOptions {
  renderer: RendererChoice;
  signal: AbortSignal;
  /** Where progress goes (stderr when stdout carries JSON). */
  stream?: NodeJS.WriteStream | undefined;
  /** Every stage event and progress line, whatever the renderer shows (--log-file). */
  log?: ((line: string) => void) | undefined;
  /** Also show each external command line and the tools' own output (--verbose). */
  verbose?: boolean | undefined;
}

export function chooseRenderer(o: {
  quiet?: boolean | undefined;
  verbose?: boolean | undefined;
  env?: NodeJS.ProcessEnv;
  isTTY?: boolean | undefined;
}): RendererChoice {
  const env = o.env ?? process.env;
  if (o.quiet) return 'quiet';
  // Tool output scrolls: every line stays, timestamped, rather than one live line per task.
  if (o.verbose) return 'plain';
  if (env.CI === 'true' || env.CI === '1' || !o.isTTY || env.TERM === 'dumb') return 'plain';
  return 'fancy';
}

export function newContext(config: BuildContext['config'], ws: Workspace, signal: AbortSignal, resume?: ResumeStore): BuildContext {
  const facts: Facts = { isoMap: new Map(), verify: [], cache: { images: [] } };
  return { config, ws, signal, facts, timings: [], mounts: new MountStack(), resume };
}

/** Said in the log and the report for a stage whose recorded output was reused. */
export const RESUMED = 'unchanged since the last run: output reused';

export async function runStages(ctx: BuildContext, stages: readonly Stage[], o: RunStagesOptions): Promise<void> {
  const out = o.stream ?? process.stderr;
  const logger = new ListrLogger({ processOutput: new ProcessOutput(out, out), useIcons: false });
  const stamps = new Map<Stage, string>();
  const list = new Listr(
    stages.map((stage) => ({
      title: stage.title,
      skip: async () => {
        const why = stage.skip?.(ctx) ?? (await reuse(ctx, stage, stamps));
        if (why) {
          ctx.timings.push({ stage: stage.title, seconds: 0, skipped: why });
          o.log?.(`skip  ${stage.title}: ${why}`);
        }
        return why ?? false;
      },
      task: async (_: unknown, task: StageTask) => {
        if (ctx.signal.aborted) throw new InterruptedError('interrupted');
        const t0 = performance.now();
        o.log?.(`start ${stage.title}`);
        let failed: unknown;
        try {
          const t = o.log ? logged(task, o.log) : task;
          await withTrace(o.verbose ? traceTo(t) : undefined, () => runRecorded(ctx, stage, t, stamps));
        } catch (e) {
          failed = e;
          throw e;
        } finally {
          const seconds = round((performance.now() - t0) / 1000);
          ctx.timings.push({ stage: stage.title, seconds });
          o.log?.(`${failed ? 'FAIL ' : 'done '} ${stage.title} (${seconds} s)${failed instanceof Error ? `: ${failed.message}` : ''}`);
        }
      },
    })),
    {
      concurrent: false,
      exitOnError: true,
      registerSignalListeners: false,
      renderer: o.renderer === 'fancy' ? 'default' : o.renderer === 'plain' ? 'simple' : 'silent',
      rendererOptions: {
        logger,
        persistentOutput: true,
        collapseSubtasks: false,
        timer: { condition: true, format: () => (s: string) => s, field: (d: number) => `${round(d / 1000)}s` },
      } as never,
      fallbackRenderer: 'simple',
      fallbackRendererOptions: { logger, timestamp: PRESET_TIMESTAMP } as never,
      fallbackRendererCondition: o.renderer === 'plain',
      silentRendererCondition: o.renderer === 'quiet',
      collectErrors: false,
    },
  );
  try {
    await list.run();
  } finally {
    await ctx.mounts.unwind();
  }
}

/** RESUMED when the stage's recorded output can be reused (its facts are restored then), else undefined. */
async function reuse(ctx: BuildContext, stage: Stage, stamps: Map<Stage, string>): Promise<string | undefined> {
  const store = ctx.resume;
  const spec = stage.resume;
  if (!store || !spec || ctx.signal.aborted) return undefined;
  const stamp = store.stamp(spec.key, await spec.inputs(ctx), spec.after);
  stamps.set(stage, stamp);
  const rec = await store.reusable(spec.key, stamp);
  if (!rec) return undefined;
  spec.restore(ctx, rec.facts);
  return RESUMED;
}

/** Run a stage; one with lasting output forgets its record first (never half done) and records it once done. */
async function runRecorded(ctx: BuildContext, stage: Stage, task: StageTask, stamps: Map<Stage, string>): Promise<void> {
  const store = ctx.resume;
  const spec = stage.resume;
  if (!store || !spec) return stage.run(ctx, task);
  const stamp = stamps.get(stage) ?? store.stamp(spec.key, await spec.inputs(ctx), spec.after);
  await store.begin(spec.key);
  await stage.run(ctx, task);
  const { facts, files } = spec.save(ctx);
  await store.done(spec.key, stamp, facts, files);
}

/** The task as the stage sees it, with every progress line and title change copied to the log. */
function logged(task: StageTask, log: (line: string) => void): StageTask {
  return {
    get output() {
      return task.output;
    },
    set output(line: string) {
      log(`      ${line}`);
      task.output = line;
    },
    get title() {
      return task.title;
    },
    set title(t: string) {
      log(`title ${t}`);
      task.title = t;
    },
  };
}

/** --verbose: command lines and tool output become task output lines, so every renderer and the log get them. */
function traceTo(task: StageTask): CommandTrace {
  return {
    command: (argv) => {
      task.output = `$ ${quoteArgv(argv, 4000)}`;
    },
    line: (text) => {
      task.output = `  ${text}`;
    },
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
