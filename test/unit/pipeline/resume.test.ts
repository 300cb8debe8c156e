// Resume records: stamps, what invalidates what, interrupted stages, damaged outputs, --no-resume.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Stage } from '../../../src/pipeline/context.js';
import { RESUME_FILE, ResumeStore, stampOf } from '../../../src/pipeline/resume.js';
import { newContext, RESUMED, runStages } from '../../../src/pipeline/runner.js';
import { Workspace } from '../../../src/pipeline/workspace.js';
import { canonicalJson } from '../../../src/util/hash.js';
import type { BuildConfig } from '../../../src/config/load.js';

test('stamps: key order does not matter; inputs, upstream runs and the salt do', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: 3 } }), '{"a":{"c":3,"d":[2,{"e":0,"f":1}]},"b":1}');
  const s = stampOf('images', { x: 1, y: 2 }, { rootfs: 'r1' }, 'v1');
  assert.equal(stampOf('images', { y: 2, x: 1 }, { rootfs: 'r1' }, 'v1'), s);
  assert.notEqual(stampOf('images', { x: 1, y: 3 }, { rootfs: 'r1' }, 'v1'), s);
  assert.notEqual(stampOf('images', { x: 1, y: 2 }, { rootfs: 'r2' }, 'v1'), s);
  assert.notEqual(stampOf('images', { x: 1, y: 2 }, { rootfs: undefined }, 'v1'), s);
  assert.notEqual(stampOf('images', { x: 1, y: 2 }, { rootfs: 'r1' }, 'v2'), s);
  assert.notEqual(stampOf('engine', { x: 1, y: 2 }, { rootfs: 'r1' }, 'v1'), s);
});

/**
 * A small pipeline shaped like the build: images and engine are independent, payload needs both, squash
 * needs payload. Each writes one output file; inputs come from a mutable config.
 */
function pipeline(dir: string) {
  const ran: string[] = [];
  const inputs = { images: 'a,b', engine: 'podman', payload: 'load', failIn: '' };
  const stage = (key: string, after: string[]): Stage => ({
    title: `stage ${key}`,
    resume: {
      key,
      after,
      inputs: async () => inputs[key as keyof typeof inputs] ?? '',
      save: () => ({ facts: { made: `${key}:${inputs[key as keyof typeof inputs] ?? ''}` }, files: [`${key}.out`] }),
      restore: (ctx, facts) => {
        (ctx.facts as unknown as Record<string, unknown>)[key] = facts;
      },
    },
    async run(ctx) {
      ran.push(key);
      writeFileSync(join(dir, `${key}.out`), `output of ${key}\n`);
      if (inputs.failIn === key) throw new Error(`${key} failed`);
      (ctx.facts as unknown as Record<string, unknown>)[key] = { made: `${key}:${inputs[key as keyof typeof inputs] ?? ''}` };
    },
  });
  const stages = [stage('images', []), stage('engine', []), stage('payload', ['engine', 'images']), stage('squash', ['payload'])];
  const go = async (reuse = true) => {
    ran.length = 0;
    const store = await ResumeStore.load(dir, { salt: 'test', reuse });
    const ctx = newContext({} as BuildConfig, new Workspace(dir), new AbortController().signal, store);
    let error: unknown;
    try {
      await runStages(ctx, stages, { renderer: 'quiet', signal: ctx.signal });
    } catch (e) {
      error = e;
    }
    const skipped = ctx.timings.filter((t) => t.skipped === RESUMED).map((t) => t.stage.replace('stage ', ''));
    return { ran: [...ran], skipped, facts: ctx.facts as unknown as Record<string, { made: string }>, error };
  };
  return { inputs, go };
}

test('a rerun with nothing changed skips every recorded stage and restores its facts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-resume-'));
  const p = pipeline(dir);
  assert.deepEqual((await p.go()).ran, ['images', 'engine', 'payload', 'squash']);
  const again = await p.go();
  assert.deepEqual(again.ran, []);
  assert.deepEqual(again.skipped, ['images', 'engine', 'payload', 'squash']);
  assert.equal(again.facts.payload?.made, 'payload:load');
  assert.equal(again.facts.images?.made, 'images:a,b');
});

test('a changed image list redoes images and what builds on them, not the engine; a changed engine the reverse', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-resume-'));
  const p = pipeline(dir);
  await p.go();
  p.inputs.images = 'a,b,c';
  const r1 = await p.go();
  assert.deepEqual(r1.ran, ['images', 'payload', 'squash']);
  assert.deepEqual(r1.skipped, ['engine']);
  p.inputs.engine = 'docker';
  const r2 = await p.go();
  assert.deepEqual(r2.ran, ['engine', 'payload', 'squash']);
  assert.deepEqual(r2.skipped, ['images']);
  // A payload-only change leaves both images and engine alone.
  p.inputs.payload = 'ready';
  assert.deepEqual((await p.go()).ran, ['payload', 'squash']);
});

test('a stage that failed (or was interrupted) is never taken as done: it and everything after it run again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-resume-'));
  const p = pipeline(dir);
  await p.go();
  // The engine reruns (changed) and dies half way: its output file exists, but it has no record.
  p.inputs.engine = 'docker';
  p.inputs.failIn = 'engine';
  const failed = await p.go();
  assert.match(String(failed.error), /engine failed/);
  assert.deepEqual(failed.ran, ['engine']);
  const state = JSON.parse(readFileSync(join(dir, RESUME_FILE), 'utf8')) as { stages: Record<string, unknown> };
  assert.deepEqual(Object.keys(state.stages).sort(), ['images', 'payload', 'squash']);
  p.inputs.failIn = '';
  const next = await p.go();
  assert.deepEqual(next.ran, ['engine', 'payload', 'squash']);
  // Recorded again: the run after skips everything.
  assert.deepEqual((await p.go()).ran, []);
});

test('a damaged or missing output file voids its record; an unreadable record file voids all of them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-resume-'));
  const p = pipeline(dir);
  await p.go();
  truncateSync(join(dir, 'squash.out'), 3);
  assert.deepEqual((await p.go()).ran, ['squash']);
  writeFileSync(join(dir, RESUME_FILE), '{"version": 1, "stages": {"images": ');
  assert.deepEqual((await p.go()).ran, ['images', 'engine', 'payload', 'squash']);
});

test('reuse off (--no-resume) runs every stage, and still records them for the run after', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-resume-'));
  const p = pipeline(dir);
  await p.go();
  assert.deepEqual((await p.go(false)).ran, ['images', 'engine', 'payload', 'squash']);
  assert.deepEqual((await p.go()).ran, []);
});
