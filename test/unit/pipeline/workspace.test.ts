// Which leftover processes a new run stops before it touches the work folder.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { killStragglers, usesDir } from '../../../src/pipeline/workspace.js';

test('a process works in the folder by its root, its working folder, or a path argument inside it', () => {
  const w = '/c/work/ab12';
  assert.ok(usesDir(w, { root: '/c/work/ab12/mnt/root', argv: ['apt-get', 'install'] }));
  assert.ok(usesDir(w, { cwd: '/c/work/ab12', argv: [] }));
  assert.ok(usesDir(w, { argv: ['mksquashfs', '/c/work/ab12/layer/upper', '/c/work/ab12/layer.squashfs.partial'] }));
  assert.ok(usesDir(w, { argv: ['mount', '-o', 'lowerdir=/c/work/ab12/mnt/lower0'] }));
  assert.ok(usesDir(w, { argv: ['skopeo', 'copy', 'docker-archive:/c/work/ab12/payload/x.tar'] }));
  assert.ok(!usesDir(w, { root: '/', cwd: '/home/u', argv: ['remaster', 'build', '--work-dir', '/c/work/ab12'] }));
  assert.ok(!usesDir(w, { argv: ['cat', '/c/work/ab123/file'] }));
  assert.ok(!usesDir(w, { root: '/c/work/ab123', argv: [] }));
});

test('killStragglers stops a process left writing in the folder, and only that one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-straggler-'));
  const inside = spawn('sleep', ['60'], { cwd: dir, detached: true, stdio: 'ignore' });
  const outside = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  try {
    const gone = new Promise((r) => inside.on('exit', r));
    const killed = await killStragglers(dir);
    assert.deepEqual(killed, [inside.pid]);
    await gone;
    assert.equal(outside.exitCode, null);
  } finally {
    inside.kill('SIGKILL');
    outside.kill('SIGKILL');
  }
});
