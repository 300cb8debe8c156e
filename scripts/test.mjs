#!/usr/bin/env node
// npm test: every compiled test file (unit, integration, e2e) in one node:test run, one file at a time.
// REMASTER_TESTS=unit (or unit,integration) narrows the run for quick local loops; CI runs everything.
// --cold (npm run test:cold) runs as a new machine would: an empty remaster cache of the run's own (the fixture
// ISOs, apt, engine and image caches are all made again) and the project's Docker images and volumes removed
// first (the compose test removes them when REMASTER_TEST_COLD=1). The user's own cache is never touched.
//
// Tests make ISOs, layers and VM evidence under os.tmpdir() (gigabytes per run). The run gets a folder of its
// own there (TMPDIR for every test), removed after a passing run and kept after a failing one for a look;
// folders of earlier runs older than a day are removed first. Nothing is removed across a mount point.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const levels = (process.env.REMASTER_TESTS ?? 'unit,integration,e2e').split(',').map((s) => s.trim());
const files = [];
const walk = (dir) => {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
};
for (const level of levels) walk(join('dist', 'test', level));
if (files.length === 0) {
  console.error('test: no test files found (did the build run?)');
  process.exit(1);
}

const PREFIX = 'remaster-tests-';
const STALE_MS = 24 * 3600 * 1000;

/** Mount points at or below dir (a test that failed badly may leave one: never delete through it). */
function mountsBelow(dir) {
  const r = spawnSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').filter((m) => m === dir || m.startsWith(`${dir}/`));
}

function remove(dir) {
  const mounts = mountsBelow(dir);
  if (mounts.length > 0) {
    console.error(`test: kept ${dir}: still mounted below it: ${mounts.join(' ')}`);
    return;
  }
  spawnSync('rm', ['-rf', '--one-file-system', '--', dir], { stdio: 'inherit' });
}

const base = tmpdir();
for (const name of readdirSync(base)) {
  if (!name.startsWith(PREFIX)) continue;
  const p = join(base, name);
  const st = statSync(p, { throwIfNoEntry: false });
  if (st?.isDirectory() && Date.now() - st.mtimeMs > STALE_MS) remove(p);
}
const runDir = mkdtempSync(join(base, PREFIX));
// mkdtemp makes it 0700; tests that run the CLI as an unprivileged user (the root check) must reach their inputs.
chmodSync(runDir, 0o755);
const cold = process.argv.includes('--cold');
const coldEnv = cold ? { REMASTER_CACHE_DIR: join(runDir, 'cold-cache'), REMASTER_TEST_COLD: '1' } : {};
if (cold) console.error(`test: cold run: cache ${coldEnv.REMASTER_CACHE_DIR}, the project's Docker images removed first`);
const t0 = Date.now();
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...process.env, TMPDIR: runDir, ...coldEnv },
});
console.error(`test: ${cold ? 'cold ' : ''}run took ${Math.round((Date.now() - t0) / 1000)} s`);
const status = r.status ?? 1;
if (status === 0) remove(runDir);
else console.error(`test: files of this run kept in ${runDir}`);
process.exit(status);
