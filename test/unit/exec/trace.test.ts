// run()'s progress plumbing and --verbose tracing: \r lines, a status fd, a pseudo-terminal, masked argv.
// Fake executables on PATH stand in for the tools.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ToolError } from '../../../src/errors.js';
import { run } from '../../../src/exec/run.js';
import { type CommandTrace, maskSecrets, withTrace } from '../../../src/exec/trace.js';

const bin = mkdtempSync(join(tmpdir(), 'remaster-bin-'));
const tool = (name: string, body: string) => writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
tool('bar', `printf 'start\\n\\r[==  ] 1/4  25%%\\r[=== ] 3/4  75%%\\r[====] 4/4 100%%\\ndone\\n'`);
tool('status', 'echo "normal output"; echo "pmstatus:zstd:20.0000:Unpacking zstd (amd64)" >&3; echo "second" >&3');
tool('where', 'if [ -t 1 ]; then echo "on a terminal"; else echo "on a pipe"; fi; echo "to stderr" >&2');
tool('fails', 'echo "bad input: $1" >&2; exit 3');
const env = { PATH: `${bin}:/usr/bin:/bin` };

function recorder(): CommandTrace & { commands: string[][]; lines: string[] } {
  const commands: string[][] = [];
  const lines: string[] = [];
  return { commands, lines, command: (argv) => commands.push([...argv]), line: (l) => lines.push(l) };
}

test('crLines: a bar redrawn with \\r arrives as one line per redraw; stdout itself is unchanged', async () => {
  const lines: string[] = [];
  const r = await run('bar', [], { env, crLines: true, onLine: (l) => lines.push(l) });
  assert.deepEqual(lines, ['start', '', '[==  ] 1/4  25%', '[=== ] 3/4  75%', '[====] 4/4 100%', 'done']);
  assert.equal(r.stdout, 'start\n\r[==  ] 1/4  25%\r[=== ] 3/4  75%\r[====] 4/4 100%\ndone\n');
});

test('onStatusLine reads fd 3 line by line, apart from stdout', async () => {
  const status: string[] = [];
  const r = await run('status', [], { env, onStatusLine: (l) => status.push(l) });
  assert.deepEqual(status, ['pmstatus:zstd:20.0000:Unpacking zstd (amd64)', 'second']);
  assert.equal(r.stdout, 'normal output\n');
});

test('tty: the tool runs on a pseudo-terminal, keeps its exit code and its name in errors', async () => {
  const lines: string[] = [];
  const r = await run('where', [], { env, tty: true, onLine: (l) => lines.push(l) });
  assert.equal(r.exitCode, 0);
  assert.ok(lines.includes('on a terminal'), lines.join('|'));
  assert.ok(lines.includes('to stderr'), 'stderr shares the terminal');
  assert.equal((await run('where', [], { env })).stdout, 'on a pipe\n');
  await assert.rejects(run('fails', ['x'], { env, tty: true }), (e: unknown) => {
    assert.ok(e instanceof ToolError);
    assert.match(e.message, /^fails exited with code 3: fails x/);
    assert.match(e.stderrTail, /bad input: x/);
    return true;
  });
  await assert.rejects(
    run('no-such-tool-here', [], { env, tty: true }),
    (e: unknown) => e instanceof ToolError && /is not installed/.test(e.message),
  );
});

test('verbose trace: command lines and tool output, except lines consumed as progress', async () => {
  const t = recorder();
  await withTrace(t, async () => {
    await run('bar', ['--password', 'hunter2', 'https://user:s3cret@reg.example/x'], {
      env,
      crLines: true,
      onLine: (l) => /%$/.test(l),
    });
  });
  assert.deepEqual(t.commands, [['bar', '--password', '***', 'https://user:***@reg.example/x']]);
  assert.deepEqual(t.lines, ['start', 'done']);
  const outside = recorder();
  await run('bar', [], { env });
  assert.deepEqual(outside.commands, [], 'nothing is traced outside withTrace');
});

test('maskSecrets: credential flags, their = forms and URL passwords', () => {
  assert.deepEqual(maskSecrets(['skopeo', 'copy', '--src-creds', 'u:p', '--dest-creds=u:p', 'docker://a:b@reg/x', '--tls-verify=false']), [
    'skopeo',
    'copy',
    '--src-creds',
    '***',
    '--dest-creds=***',
    'docker://a:***@reg/x',
    '--tls-verify=false',
  ]);
  assert.deepEqual(maskSecrets(['mount', '-o', 'loop,ro', 'a:b@c']), ['mount', '-o', 'loop,ro', 'a:b@c'], 'no URL, nothing masked');
});
