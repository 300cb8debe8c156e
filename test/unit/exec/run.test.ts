// run(): errors carry the tool's stderr tail and a hint; tested with fake executables on PATH.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InterruptedError, ToolError } from '../../../src/errors.js';
import { quoteArgv, run } from '../../../src/exec/run.js';

const bin = mkdtempSync(join(tmpdir(), 'remaster-bin-'));
writeFileSync(join(bin, 'failing-tool'), '#!/bin/sh\necho "line one" >&2\necho "it broke: $1" >&2\nexit 3\n', { mode: 0o755 });
writeFileSync(join(bin, 'echo-args'), '#!/bin/sh\nfor a in "$@"; do echo "[$a]"; done\n', { mode: 0o755 });
writeFileSync(join(bin, 'sleeper'), '#!/bin/sh\nsleep 30\n', { mode: 0o755 });
const env = { PATH: `${bin}:/usr/bin:/bin` };

test('arguments pass through as an argv array, never through a shell', async () => {
  const r = await run('echo-args', ['a b', '$(id)', "it's"], { env });
  assert.equal(r.stdout, "[a b]\n[$(id)]\n[it's]\n");
});

test('a failing tool gives a ToolError with the exit code, the quoted command and its stderr tail', async () => {
  await assert.rejects(run('failing-tool', ['x y'], { env, hint: 'do this' }), (e: unknown) => {
    assert.ok(e instanceof ToolError);
    assert.match(e.message, /^failing-tool exited with code 3: failing-tool 'x y'/);
    assert.match(e.stderrTail, /it broke: x y/);
    assert.equal(e.hint, 'do this');
    return true;
  });
});

test('a missing tool names the apt package that provides it', async () => {
  await assert.rejects(
    run('xorriso', ['-version'], { env: { PATH: bin } }),
    (e: unknown) =>
      e instanceof ToolError && /xorriso is not installed/.test(e.message) && e.hint === 'install it: apt-get install xorriso',
  );
});

test('onLine sees each line as it arrives', async () => {
  const lines: string[] = [];
  await run('echo-args', ['1', '2'], { env, onLine: (l) => lines.push(l) });
  assert.deepEqual(lines, ['[1]', '[2]']);
});

test('an abort signal stops the tool and raises InterruptedError', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const t0 = Date.now();
  await assert.rejects(run('sleeper', [], { env, signal: ac.signal }), InterruptedError);
  assert.ok(Date.now() - t0 < 10_000);
});

test('quoteArgv', () => {
  assert.equal(quoteArgv(['mount', '-o', 'loop,ro', 'a b', "it's"]), `mount -o loop,ro 'a b' 'it'\\''s'`);
});
