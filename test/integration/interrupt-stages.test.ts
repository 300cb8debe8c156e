// SIGINT, SIGTERM and SIGKILL in every stage of one real build, chained: each run resumes what the runs before
// it completed and is interrupted in a later stage. After SIGINT/SIGTERM: exit 130, nothing mounted, no loop
// device on a file of ours, nothing at or beside --out. After SIGKILL: the next run cleans up what was left.
// The last run completes, skipping every stage that had completed before, and a rerun after it skips them all.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { fixtureIso, mountsBelow } from '../helpers/fixture.js';
import { CLI } from '../helpers/paths.js';
import { buildArgs } from '../helpers/build-args.js';

const RESUMED = 'unchanged since the last run: output reused';
/** Stages that record their output; the others always run (or are off in this build). */
const RESUMABLE = [
  'Prepare image archives',
  'Install the container engine',
  'Add images, manifest and loader units',
  'Write the root filesystem layer',
];

/** The build's stages in order (as far as the log names them: titles change while some run). */
const ORDER = [
  'Preflight',
  'Inspect the base ISO',
  'Open the root filesystem',
  ...RESUMABLE.slice(0, 3),
  'Write the root filesystem layer',
  'Write the ISO',
];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  log: string;
  stderr: string;
}

/** Loop devices whose backing file is below dir. */
function loopsBelow(dir: string): string[] {
  const r = spawnSync('losetup', ['-J'], { encoding: 'utf8' });
  if (!r.stdout.trim()) return [];
  const { loopdevices } = JSON.parse(r.stdout) as { loopdevices: { name: string; 'back-file': string | null }[] };
  return loopdevices.filter((l) => (l['back-file'] ?? '').startsWith(dir)).map((l) => `${l.name} ${l['back-file']}`);
}

/** Titles of stages that completed (ran to the end, or were skipped as unchanged) according to a log. */
function completed(log: string): string[] {
  return RESUMABLE.filter((t) => new RegExp(`^\\S+ (done  ${esc(t)}.*\\(|skip  ${esc(t)}.*: ${RESUMED}$)`, 'm').test(log));
}

function skippedAsResumed(log: string): string[] {
  return RESUMABLE.filter((t) => new RegExp(`^\\S+ skip  ${esc(t)}.*: ${RESUMED}$`, 'm').test(log));
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('interrupted in every stage, each run resumes the last and leaves nothing behind', { timeout: 30 * 60 * 1000 }, async () => {
  const fixture = await fixtureIso();
  const dir = mkdtempSync(join(tmpdir(), 'remaster-stages-'));
  // A copy of the base (not a hard link: mount reuses a loop device set up on the same file, so another
  // test's build could hold ours), so a loop device left on it is ours.
  const base = join(dir, 'base.iso');
  copyFileSync(fixture, base);
  const rootfs = join(dir, 'busybox.tar');
  await writeBusyboxRootfs(rootfs);
  const work = join(dir, 'work');
  const out = join(dir, 'out.iso');
  let n = 0;
  let extra: string[] = [];
  const argv = () => [
    CLI,
    ...buildArgs({ iso: base, out, engine: 'podman', images: [`rootfs:${rootfs}=demo/busybox:1`] }),
    // A slow squashfs level keeps the squash stage long enough to be interrupted in (level 3, the default
    // for a layer, writes this one in about a second).
    '--squashfs-level',
    '19',
    ...extra,
    // A real install (not a cached one from another test): the engine stage must last long enough to interrupt.
    '--no-engine-cache',
    '--work-dir',
    work,
    '--log-file',
    join(dir, `run${++n}.log`),
  ];

  /**
   * One run, sent `signal` `delayMs` after the log says `stage` started, or a later one (a stage the last run
   * completed is skipped now). No signal when stage is undefined.
   */
  const runOnce = async (stage?: string, signal?: NodeJS.Signals, delayMs = 0, seen?: RegExp): Promise<Run & { sent: boolean }> => {
    const args = argv();
    const logFile = args[args.length - 1] as string;
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    let sent = false;
    let done = false;
    void exited.then(() => {
      done = true;
    });
    if (stage && signal) {
      const later = ORDER.slice(ORDER.indexOf(stage));
      const started = new RegExp(`^\\S+ start (${later.map(esc).join('|')})`, 'm');
      while (!done) {
        const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        if (started.test(text) && (!seen || seen.test(text))) {
          await sleep(delayMs);
          if (!done) {
            child.kill(signal);
            sent = true;
          }
          break;
        }
        await sleep(100);
      }
    }
    const [code, sig] = await exited;
    return { code, signal: sig, sent, stderr, log: existsSync(logFile) ? readFileSync(logFile, 'utf8') : '' };
  };

  const nothingLeft = (what: string) => {
    assert.deepEqual(mountsBelow(dir), [], `${what}: mounts left`);
    assert.deepEqual(loopsBelow(dir), [], `${what}: loop devices left`);
    assert.equal(existsSync(out), false, `${what}: a file at --out`);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('out.iso')),
      [],
      `${what}: a partial file beside --out`,
    );
  };

  // Stages done so far (by any run): the next run must skip exactly these.
  let done: string[] = [];
  // [stage, signal, delay after the stage started (and, when given, after the log shows the pattern)]
  const plan: [string, NodeJS.Signals, number, RegExp?][] = [
    ['Preflight', 'SIGINT', 0],
    ['Open the root filesystem', 'SIGTERM', 0],
    ['Prepare image archives', 'SIGINT', 0],
    ['Install the container engine', 'SIGINT', 3000],
    // While dpkg works in the chroot (a fixed delay raced the install, which takes ~5 s with cached .debs).
    ['Install the container engine', 'SIGKILL', 0, /apt: install [1-9]\d? %/],
    ['Install the container engine', 'SIGTERM', 1000],
    ['Add images, manifest and loader units', 'SIGINT', 0],
    ['Write the root filesystem layer', 'SIGTERM', 2000],
    ['Write the root filesystem layer', 'SIGKILL', 2000],
    ['Write the ISO', 'SIGINT', 500],
  ];
  for (const [stage, signal, delay, seen] of plan) {
    const what = `${signal} in "${stage}" (run ${n + 1})`;
    const r = await runOnce(stage, signal, delay, seen);
    assert.ok(r.sent, `${what}: the run ended before the signal:\n${r.stderr.slice(-2000)}`);
    assert.deepEqual(skippedAsResumed(r.log), done, `${what}: skipped stages\n${r.log}`);
    if (signal === 'SIGKILL') {
      assert.equal(r.signal, 'SIGKILL');
      if (stage.startsWith('Install')) assert.ok(mountsBelow(work).length > 0, `${what}: SIGKILL mid-install leaves the chroot mounts`);
    } else {
      assert.equal(r.code, 130, `${what}:\n${r.stderr.slice(-2000)}`);
      assert.match(r.stderr, new RegExp(`${signal} received`));
      nothingLeft(what);
    }
    done = completed(r.log);
  }
  // The squash stage completed before the last interrupt: everything but the ISO is reused now.
  assert.deepEqual(done, RESUMABLE);
  extra = ['--keep-work'];
  const last = await runOnce();
  assert.equal(last.code, 0, last.stderr.slice(-3000));
  assert.deepEqual(skippedAsResumed(last.log), RESUMABLE);
  assert.ok(existsSync(out));
  assert.deepEqual(mountsBelow(dir), []);
  assert.deepEqual(loopsBelow(dir), []);
  const first = sha256(out);

  // With the work kept, a second image redoes the images, the payload and the layer, not the engine install.
  const second = join(dir, 'second.tar');
  await writeBusyboxRootfs(second);
  extra = ['--keep-work', '--image', `rootfs:${second}=demo/second:2`];
  const more = await runOnce();
  assert.equal(more.code, 0, more.stderr.slice(-3000));
  assert.deepEqual(skippedAsResumed(more.log), ['Install the container engine']);
  assert.notEqual(sha256(out), first);
  // And taking it out again gives back the very same ISO: the payload of the run before was taken out of the
  // kept layer exactly (files, folders), and nothing else in it changed.
  extra = [];
  const back = await runOnce();
  assert.equal(back.code, 0, back.stderr.slice(-3000));
  assert.deepEqual(skippedAsResumed(back.log), ['Install the container engine']);
  assert.equal(sha256(out), first);
  // A finished build without --keep-work clears its work: the next run starts from scratch, evidence aside.
  assert.deepEqual(
    readdirSync(work).filter((f) => f !== 'verify'),
    [],
  );
});

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
