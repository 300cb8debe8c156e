// Which leftover processes a new run stops before it touches the work folder, and which abandoned work folders go.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { killStragglers, pruneStaleWorkspaces, STALE_WORK_MS, usesDir } from '../../../src/pipeline/workspace.js';

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

test('abandoned default work folders are pruned: old, unlocked, nothing mounted; the current one and young ones stay', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'remaster-prune-'));
  const work = join(cache, 'work');
  const old = new Date(Date.now() - STALE_WORK_MS - 60_000);
  for (const name of ['old', 'old-locked', 'current', 'young']) {
    mkdirSync(join(work, name, 'layer'), { recursive: true });
    writeFileSync(join(work, name, 'resume.json'), '{}');
  }
  // A live process (this one) holds the lock of old-locked.
  writeFileSync(join(work, 'old-locked', 'lock'), `${process.pid}\n`);
  for (const name of ['old', 'old-locked', 'current']) utimesSync(join(work, name), old, old);
  const removed = await pruneStaleWorkspaces(cache, join(work, 'current'));
  assert.deepEqual(removed, [join(work, 'old')]);
  assert.deepEqual(readdirSync(work).sort(), ['current', 'old-locked', 'young']);
  rmSync(cache, { recursive: true, force: true });
});
