// Mistakes in the environment, refused before any work with one line and a hint: read-only or full output
// folder, a missing tool, not root, a corrupt root squashfs. And SIGKILL: the next run cleans up and works.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { inspectIso } from '../../src/iso/inspect.js';
import { cli, fixtureIso, mountsBelow } from '../helpers/fixture.js';
import { CLI } from '../helpers/paths.js';
import { buildArgs } from '../helpers/build-args.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-env-'));
const mounted: string[] = [];
after(() => {
  for (const m of mounted.reverse()) spawnSync('umount', [m]);
});

function refused(r: { status: number | null; stderr: string }, code: number, re: RegExp) {
  assert.equal(r.status, code, r.stderr);
  const errs = r.stderr.split('\n').filter((l) => l.startsWith('remaster: error:'));
  assert.equal(errs.length, 1, r.stderr);
  assert.match(errs[0] ?? '', re);
  assert.match(r.stderr, /^remaster: hint: /m);
}

async function args(out: string): Promise<string[]> {
  const rootfs = join(dir, 'rootfs.tar');
  if (!existsSync(rootfs)) await writeBusyboxRootfs(rootfs);
  return buildArgs({ iso: await fixtureIso(), out, images: [`rootfs:${rootfs}=a/b:1`] });
}

function tmpfs(name: string, options: string): string {
  const m = join(dir, name);
  mkdirSync(m);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'remaster-test', m]);
  assert.equal(r.status, 0, String(r.stderr));
  mounted.push(m);
  return m;
}

test('a read-only output folder', { timeout: 10 * 60 * 1000 }, async () => {
  const ro = tmpfs('ro', 'ro,size=1m');
  refused(cli(await args(join(ro, 'out.iso'))), 2, /output folder .* is not writable/);
});

test('an output folder too small for the ISO is refused up front, with the numbers', { timeout: 10 * 60 * 1000 }, async () => {
  const small = tmpfs('small', 'size=50m');
  refused(
    cli(await args(join(small, 'out.iso'))),
    1,
    /not enough free space in .*small for the output ISO: 0.0 GiB free, about \d+\.\d GiB needed/,
  );
  assert.deepEqual(readdirSync(small), []);
});

test('a missing tool names the apt package', { timeout: 10 * 60 * 1000 }, async () => {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const r = cli(await args(join(dir, 'o.iso')), { PATH: bin });
  refused(r, 2, /missing tools: .*xorriso/);
  assert.match(r.stderr, /hint: install them: apt-get install .*xorriso/);
});

test('not root', { timeout: 10 * 60 * 1000 }, async () => {
  const a = await args(join(dir, 'o.iso'));
  chmodSync(dir, 0o755); // let the unprivileged user see the inputs, so the root check is what refuses
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...a], { encoding: 'utf8' });
  refused({ status: r.status, stderr: r.stderr }, 2, /must run as root/);
});

test('a corrupt root squashfs (bad superblock) is refused before any work', { timeout: 10 * 60 * 1000 }, async () => {
  const base = await fixtureIso();
  const bad = join(dir, 'corrupt.iso');
  copyFileSync(base, bad);
  const layer = (await inspectIso(base)).rootfs[0];
  assert.ok(layer);
  const fd = openSync(bad, 'r+');
  writeSync(fd, Buffer.from('XXXX'), 0, 4, layer.lba * 2048);
  closeSync(fd);
  refused(cli(['inspect', bad]), 2, /\/live\/filesystem.squashfs is not a valid squashfs image/);
});

test('after SIGKILL mid-install the mounts stay, and the next run sweeps them and succeeds', { timeout: 20 * 60 * 1000 }, async () => {
  const work = join(dir, 'work-kill');
  const out = join(dir, 'killed.iso');
  // A real install (not a cached one): the kill must land while apt runs in the chroot.
  const a = [...(await args(out)), '--work-dir', work, '--no-engine-cache'];
  const child = spawn(process.execPath, [CLI, ...a], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/\[STARTED\].*Install the container engine/.test(stderr)) setTimeout(resolve, 1500);
    });
    child.on('exit', () => resolve());
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  assert.ok(mountsBelow(work).length > 0, 'SIGKILL left the chroot mounts behind (nothing can undo them in-process)');
  const again = cli(a);
  assert.equal(again.status, 0, again.stderr.slice(-3000));
  assert.deepEqual(mountsBelow(work), []);
  assert.ok(existsSync(out));
});
