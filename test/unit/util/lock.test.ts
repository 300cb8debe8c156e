// Cache locks: a second holder waits and is told whose turn it is; a timeout names the holder; a killed holder
// frees the lock.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { RemasterError } from '../../../src/errors.js';
import { acquireLock, cacheLockFile, lockHolder, withLock } from '../../../src/util/lock.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('cacheLockFile: one file per part under <cache>/locks', () => {
  assert.equal(cacheLockFile('/c', 'apt'), '/c/locks/apt.lock');
});

test('a second holder waits for the first, with a line that names it', async () => {
  const file = join(dir, 'a', 'apt.lock');
  const first = await acquireLock(file, { what: 'the apt cache' });
  assert.equal((await lockHolder(file))?.pid, process.pid);
  const order: string[] = [] as string[];
  const waits: string[] = [];
  const second = withLock(file, { what: 'the apt cache', onWait: (l) => waits.push(l), reportEveryMs: 200 }, async () => {
    order.push('second');
  });
  await sleep(1600);
  assert.equal(order.length, 0, 'the second holder ran while the first held the lock');
  order.push('first released');
  await first.release();
  await second;
  assert.deepEqual(order, ['first released', 'second']);
  assert.ok(waits.length >= 1, 'a wait of over a second is reported');
  assert.match(
    waits[0] ?? '',
    new RegExp(`^waiting for the apt cache: in use by pid ${process.pid} \\(.*\\), holding it since \\S+; waited \\d+ s$`),
  );
  assert.equal(await lockHolder(file), undefined, 'the holder file goes with the lock');
});

test('a lock that is free is taken at once and says nothing', async () => {
  const waits: string[] = [];
  await withLock(join(dir, 'free.lock'), { what: 'x', onWait: (l) => waits.push(l) }, async () => {});
  assert.deepEqual(waits, []);
});

test('waiting ends after the timeout with the holder in the message and the hint', async () => {
  const file = join(dir, 'busy.lock');
  const held = await acquireLock(file, { what: 'the cached engine install abc' });
  try {
    await assert.rejects(
      withLock(file, { what: 'the cached engine install abc', timeoutMs: 1000 }, async () => {}),
      (e: unknown) => {
        assert.ok(e instanceof RemasterError);
        assert.match(e.message, new RegExp(`^the cached engine install abc is still locked by pid ${process.pid} `));
        assert.match(e.hint ?? '', new RegExp(`kill ${process.pid}`));
        return true;
      },
    );
  } finally {
    await held.release();
  }
});

test('a holder killed with SIGKILL frees the lock', async () => {
  const file = join(dir, 'killed.lock');
  // Another process takes the lock the way remaster does (flock on the file), then dies without a word.
  const other = spawn('flock', [file, 'sleep', '60'], { stdio: 'ignore', detached: true });
  for (let i = 0; i < 50 && spawnSync('flock', ['-n', file, 'true']).status === 0; i++) await sleep(50);
  assert.notEqual(spawnSync('flock', ['-n', file, 'true']).status, 0, 'the other process holds the lock');
  process.kill(-(other.pid ?? 0), 'SIGKILL');
  const t0 = Date.now();
  await withLock(file, { what: 'x', timeoutMs: 10_000 }, async () => {});
  assert.ok(Date.now() - t0 < 10_000);
});

test('an aborted wait ends as an interruption', async () => {
  const file = join(dir, 'abort.lock');
  const held = await acquireLock(file, { what: 'x' });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 300);
  try {
    await assert.rejects(
      withLock(file, { what: 'the apt cache', signal: ac.signal }, async () => {}),
      /interrupted while waiting for the apt cache/,
    );
  } finally {
    await held.release();
  }
});
