// scripts/in-root, the one way to run a command in another root: a clean environment, whatever the caller's is.
// The root is a busybox-static tree (a shell, mktemp and env in one binary); chroot needs root.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { IN_ROOT, inRootArgs, runInRoot } from '../../../src/rootfs/chroot.js';

const BUSYBOX = '/bin/busybox';
const skip = process.getuid?.() !== 0 ? 'chroot needs root' : undefined;
const dir = mkdtempSync(join(tmpdir(), 'remaster-inroot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A root with busybox as /bin/sh, mktemp and env, and an empty /tmp. */
let roots = 0;
function busyboxRoot(): string {
  const root = join(dir, `root${roots++}`);
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'tmp'), { mode: 0o1777 });
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  for (const name of ['sh', 'mktemp', 'env']) spawnSync('ln', ['-sf', 'busybox', join(root, 'bin', name)]);
  return root;
}

test('inRootArgs: each variable as -e NAME=VALUE, undefined ones left out, then the root and the command', () => {
  assert.deepEqual(inRootArgs('/r', ['dpkg', '-l'], { SOURCE_DATE_EPOCH: '1', UNSET: undefined, A: 'b c' }), [
    '-e',
    'SOURCE_DATE_EPOCH=1',
    '-e',
    'A=b c',
    '/r',
    'dpkg',
    '-l',
  ]);
  assert.deepEqual(inRootArgs('/r', ['true']), ['/r', 'true']);
});

test('a host TMPDIR that the root lacks: mktemp fails under plain chroot, works through in-root', { skip }, () => {
  const root = busyboxRoot();
  const hostEnv = { ...process.env, TMPDIR: join(dir, 'exists-on-the-host-only'), TMP: '/nowhere', TEMP: '/nowhere', LC_ALL: 'POSIX' };
  mkdirSync(hostEnv.TMPDIR, { recursive: true });
  // The failure in-root prevents (update-ca-certificates in compose-base.sh hit exactly this).
  const plain = spawnSync('chroot', [root, 'mktemp'], { env: hostEnv, encoding: 'utf8' });
  assert.notEqual(plain.status, 0, `plain chroot should fail on the host TMPDIR: ${plain.stdout}`);

  const r = spawnSync(IN_ROOT, ['-e', 'EXTRA=one two', root, 'sh', '-c', 'mktemp && env'], { env: hostEnv, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [made, ...envLines] = r.stdout.trim().split('\n');
  assert.match(made ?? '', /^\/tmp\/tmp\.\w+$/);
  const env = new Map(envLines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  assert.equal(env.get('TMPDIR'), '/tmp');
  assert.equal(env.get('LC_ALL'), 'C.UTF-8');
  assert.equal(env.get('PATH'), '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  assert.equal(env.get('DEBIAN_FRONTEND'), 'noninteractive');
  assert.equal(env.get('EXTRA'), 'one two');
  assert.equal(env.has('TMP'), false);
  assert.equal(env.has('TEMP'), false);
  // Nothing else of the caller's: its HOME, USER, test runner variables...
  assert.equal(env.get('HOME'), '/root');
  assert.equal(env.has('NODE_TEST_CONTEXT'), false);
});

test('runInRoot: io.env reaches the command, the process environment does not', { skip }, async () => {
  const root = busyboxRoot();
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = join(dir, 'not-in-the-root');
  try {
    const r = await runInRoot(root, ['sh', '-c', 'f=$(mktemp) && echo "$TMPDIR $SOURCE_DATE_EPOCH ${f%.*}"'], {
      env: { SOURCE_DATE_EPOCH: '1700000000' },
    });
    assert.equal(r.stdout.trim(), '/tmp 1700000000 /tmp/tmp');
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
});

test('in-root refuses bad usage with exit 2 and one line', () => {
  const missing = spawnSync(IN_ROOT, [join(dir, 'no-such-root'), 'true'], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^in-root: root .*no-such-root is not a directory$/m);
  const bad = spawnSync(IN_ROOT, ['-e', 'no-equals', '/', 'true'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /-e needs NAME=VALUE/);
});
