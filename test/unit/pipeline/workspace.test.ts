// Which leftover processes a new run stops before it touches the work folder.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { killStragglers, usesDir } from '../../../src/pipeline/workspace.js';

test('a process works in the folder when chrooted into it or given a path inside it', () => {
  const w = '/c/work/ab12';
  assert.ok(usesDir(w, { root: '/c/work/ab12/mnt/root', argv: ['apt-get', 'install'] }));
  assert.ok(!usesDir(w, { argv: ['bash'] }), 'a shell sitting in the folder is left alone');
  assert.ok(usesDir(w, { argv: ['mksquashfs', '/c/work/ab12/layer/upper', '/c/work/ab12/layer.squashfs.partial'] }));
  assert.ok(usesDir(w, { argv: ['mount', '-o', 'lowerdir=/c/work/ab12/mnt/lower0'] }));
  assert.ok(usesDir(w, { argv: ['skopeo', 'copy', 'docker-archive:/c/work/ab12/payload/x.tar'] }));
  assert.ok(!usesDir(w, { root: '/', argv: ['remaster', 'build', '--work-dir', '/c/work/ab12'] }));
  assert.ok(!usesDir(w, { argv: ['cat', '/c/work/ab123/file'] }));
  assert.ok(!usesDir(w, { root: '/c/work/ab123', argv: [] }));
});

test('killStragglers stops a process left writing in the folder, and only that one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-straggler-'));
  const file = join(dir, 'layer.squashfs.partial');
  writeFileSync(file, '');
  const inside = spawn('tail', ['-f', file], { detached: true, stdio: 'ignore' });
  const outside = spawn('sleep', ['60'], { cwd: dir, detached: true, stdio: 'ignore' });
  try {
    // Until exec, /proc shows node's own command line.
    for (let i = 0; i < 100 && !readFileSync(`/proc/${inside.pid}/cmdline`, 'utf8').startsWith('tail'); i++) await sleep(20);
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
