#!/usr/bin/env node
// npm test: every compiled test file (unit, integration, e2e) in one node:test run, one file at a time.
// REMASTER_TESTS=unit (or unit,integration) narrows the run for quick local loops; CI runs everything.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
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
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
