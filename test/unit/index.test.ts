// The package's public entry point, imported by its name as users do.
import assert from 'node:assert/strict';
import { test } from 'node:test';

test("import { build, inspect, verify } from 'remaster'", async () => {
  const m = (await import('remaster')) as Record<string, unknown>;
  for (const name of ['build', 'inspect', 'verify', 'toBuildConfig', 'readConfigFile', 'RemasterError', 'UsageError']) {
    assert.equal(typeof m[name], 'function', name);
  }
  assert.deepEqual(m.ExitCode, { ok: 0, failed: 1, usage: 2, interrupted: 130 });
});
