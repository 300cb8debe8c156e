// Resume: a stage that leaves durable output in the workspace records, once it completes, a stamp (a hash of
// its inputs and of the earlier runs it built on) and the facts it learnt. A rerun whose stamp matches skips the
// stage and restores those facts. A stage forgets its record before it starts, so one that was interrupted is
// never taken as done; every real run gets a new run id, which later stages hash, so they redo their work too.
import { createHash, randomUUID } from 'node:crypto';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { canonicalJson } from '../util/hash.js';
import { type BuildContext, need } from './context.js';

export interface StageRecord {
  stamp: string;
  /** New each time the stage really runs: the stamps of the stages built on it include it. */
  run: string;
  /** What the stage learnt, restored when it is skipped (JSON; never a secret). */
  facts: unknown;
  /** Its output files, relative to the workspace, with their sizes: the record counts only while they are intact. */
  files: { path: string; bytes: number }[];
}

interface State {
  version: 1;
  stages: Record<string, StageRecord>;
}

export const RESUME_FILE = 'resume.json';

/** Hash of a stage's inputs and the run ids of the stages it builds on (a stage that never ran counts as "none"). */
export function stampOf(stage: string, inputs: unknown, upstream: Record<string, string | undefined>, salt: string): string {
  const after = Object.fromEntries(Object.entries(upstream).map(([k, v]) => [k, v ?? 'none']));
  return createHash('sha256').update(canonicalJson({ salt, stage, inputs, after })).digest('hex');
}

/** What identifies a source file without reading it: where it is, its size and its modification time. */
export async function fileIdentity(
  path: string,
): Promise<{ path: string; bytes: number; mtimeMs: number } | { path: string; missing: true }> {
  const abs = resolve(path);
  const st = await stat(abs).catch(() => undefined);
  return st ? { path: abs, bytes: st.size, mtimeMs: st.mtimeMs } : { path: abs, missing: true };
}

export class ResumeStore {
  private constructor(
    readonly root: string,
    /** Mixed into every stamp: the remaster version, so an upgrade never reuses an older version's output. */
    private readonly salt: string,
    private state: State,
  ) {}

  get file(): string {
    return join(this.root, RESUME_FILE);
  }

  /**
   * The records of the last run in this workspace. With reuse off (--no-resume) it starts empty, so every
   * stage runs, but still records what it does for the next run.
   */
  static async load(root: string, o: { salt: string; reuse: boolean }): Promise<ResumeStore> {
    let state: State = { version: 1, stages: {} };
    if (o.reuse) {
      try {
        const parsed = JSON.parse(await readFile(join(root, RESUME_FILE), 'utf8')) as State;
        if (parsed.version === 1 && parsed.stages && typeof parsed.stages === 'object') state = parsed;
      } catch {
        // No record or an unreadable one: nothing is reused.
      }
    }
    return new ResumeStore(root, o.salt, state);
  }

  /** The current run id of a stage: the one it got when it last ran, in this run or a recorded one. */
  runId(stage: string): string | undefined {
    return this.state.stages[stage]?.run;
  }

  stamp(stage: string, inputs: unknown, after: readonly string[]): string {
    return stampOf(stage, inputs, Object.fromEntries(after.map((s) => [s, this.runId(s)])), this.salt);
  }

  /** The record of a completed earlier run with this very stamp whose output files are still intact. */
  async reusable(stage: string, stamp: string): Promise<StageRecord | undefined> {
    const rec = this.state.stages[stage];
    if (!rec || rec.stamp !== stamp) return undefined;
    for (const f of rec.files) {
      const st = await stat(join(this.root, f.path)).catch(() => undefined);
      if (!st?.isFile() || st.size !== f.bytes) return undefined;
    }
    return rec;
  }

  /** Before a stage touches its output: forget its record, so an interrupted run is never taken as done. */
  async begin(stage: string): Promise<void> {
    if (!(stage in this.state.stages)) return;
    delete this.state.stages[stage];
    await this.save();
  }

  /** After a stage completed: its stamp, a new run id, its facts and its output files (relative to the workspace). */
  async done(stage: string, stamp: string, facts: unknown, files: readonly string[] = []): Promise<StageRecord> {
    const sized: StageRecord['files'] = [];
    for (const path of files) sized.push({ path, bytes: (await stat(join(this.root, path))).size });
    const rec: StageRecord = { stamp, run: randomUUID(), facts, files: sized };
    this.state.stages[stage] = rec;
    await this.save();
    return rec;
  }

  /** Written beside, then renamed: a kill never leaves half a record. */
  private async save(): Promise<void> {
    const tmp = `${this.file}.partial`;
    await writeFile(tmp, `${JSON.stringify(this.state, null, 2)}\n`);
    await rename(tmp, this.file);
  }
}

/** What identifies the base for resuming: the file itself and the root layers read from it. */
export async function baseIdentity(ctx: Pick<BuildContext, 'config' | 'facts'>): Promise<unknown> {
  const base = need(ctx.facts.base, 'base ISO');
  return { file: await fileIdentity(ctx.config.iso), volumeUuid: base.volumeUuid, rootfs: base.rootfs };
}
