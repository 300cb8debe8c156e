// What the renderers put on a real terminal (a pseudo-terminal from util-linux script): progress lines under
// the running stage, colour only without NO_COLOR, plain timestamped lines in CI, nothing with --quiet.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const runner = new URL('../../src/pipeline/runner.js', import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), 'remaster-render-'));
const script = join(dir, 'stages.mjs');
writeFileSync(
  script,
  `import { chooseRenderer, newContext, runStages } from ${JSON.stringify(runner)};
const ctx = newContext({}, {}, new AbortController().signal);
const renderer = chooseRenderer({ quiet: process.argv[2] === 'quiet', isTTY: process.stderr.isTTY });
await runStages(ctx, [{
  title: 'Write the layer',
  async run(_ctx, task) {
    for (const p of [10, 50, 100]) {
      task.output = 'mksquashfs: ' + p + ' %';
      await new Promise((r) => setTimeout(r, 350));
    }
  },
}], { renderer, signal: ctx.signal });
`,
);

/** Run the stage list on a 40x100 pseudo-terminal; returns everything the terminal received. */
function onTerminal(env: Record<string, string>, mode = ''): string {
  const base = { ...process.env };
  for (const k of ['CI', 'NO_COLOR', 'FORCE_COLOR', 'GITHUB_ACTIONS', 'GITLAB_CI']) delete base[k];
  const r = spawnSync('script', ['-qec', `stty rows 40 cols 100; exec ${process.execPath} ${script} ${mode}`, '/dev/null'], {
    encoding: 'utf8',
    env: { ...base, TERM: 'xterm-256color', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const COLOUR = /\x1b\[(?:3\d|9\d|1|2|22|39)m/;

test('fancy renderer on a terminal: the live progress line shows under the stage, in colour', () => {
  const out = onTerminal({});
  assert.match(out, /mksquashfs: 50 %/);
  assert.match(out, COLOUR);
});

test('NO_COLOR: the same progress, not one colour code', () => {
  const out = onTerminal({ NO_COLOR: '1' });
  assert.match(out, /mksquashfs: 50 %/);
  assert.doesNotMatch(out, COLOUR);
});

test('CI on a terminal: plain lines with a time for every progress line; NO_COLOR respected there too', () => {
  const coloured = onTerminal({ CI: 'true' });
  assert.match(coloured, COLOUR);
  const out = onTerminal({ CI: 'true', NO_COLOR: '1' });
  for (const p of [10, 50, 100]) assert.match(out, new RegExp(`\\[\\d\\d:\\d\\d:\\d\\d\\] mksquashfs: ${p} %`));
  assert.doesNotMatch(out, COLOUR);
});

test('--quiet: nothing on the terminal', () => {
  assert.doesNotMatch(onTerminal({}, 'quiet'), /mksquashfs|Write the layer/);
});
