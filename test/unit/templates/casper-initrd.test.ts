// The casper fixture's scripts/casper (templates/casper-initrd.sh), sourced by sh with a fake mount on PATH that
// records what would be mounted: the LAYERFS_PATH dot-chain only (the same chain inspect computes), or every
// /casper/*.squashfs in glob order; a missing chain member panics naming the file before anything is mounted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { layerChain } from '../../../src/iso/initrd.js';
import { TEMPLATES_DIR } from '../../../src/units/render.js';

const SCRIPT = join(TEMPLATES_DIR, 'casper-initrd.sh');

/** Source the script with a medium holding squashfs, run `call`; mount only records its arguments. */
function run(squashfs: readonly string[], layerfsPath: string | undefined, call: string) {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-casper-sh-'));
  const medium = join(dir, 'cdrom');
  mkdirSync(join(medium, 'casper'), { recursive: true });
  for (const f of [...squashfs, 'filesystem.manifest']) writeFileSync(join(medium, 'casper', f), '');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const log = join(dir, 'mounts');
  writeFileSync(log, '');
  writeFileSync(join(bin, 'mount'), `#!/bin/sh\necho "$*" >>"${log}"\n`, { mode: 0o755 });
  const script = [
    `. "${SCRIPT}"`,
    `CASPER_MEDIUM="${medium}"`,
    `CASPER_RUN="${dir}/run"`,
    `rootmnt="${dir}/root"`,
    layerfsPath === undefined ? 'LAYERFS_PATH=' : `LAYERFS_PATH="${layerfsPath}"`,
    'panic() { echo "PANIC $*"; exit 42; }',
    call,
  ].join('\n');
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
  const mounts = readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replaceAll(dir, ''));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, mounts };
}

test('the dot-chain of a LAYERFS_PATH is the one inspect computes (layerChain)', () => {
  for (const p of [
    'minimal.standard.live.squashfs',
    'minimal.standard.live.remaster.squashfs',
    'filesystem.squashfs',
    '/cdrom/casper/a.b.squashfs',
  ]) {
    const r = run([], p, 'casper_layers');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), layerChain(p), p);
  }
});

test('layered: only the chain is mounted, read-only, under a tmpfs upper, top first in lowerdir; /cdrom moves to the root', () => {
  const r = run(
    [
      'minimal.squashfs',
      'minimal.standard.squashfs',
      'minimal.standard.live.squashfs',
      'minimal.standard.squashfs.bak.squashfs',
      'zz-extra.squashfs',
    ],
    'minimal.standard.live.squashfs',
    'casper_mount_root',
  );
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.deepEqual(r.mounts, [
    '-t tmpfs -o mode=0755 casper-cow /run/cow',
    '-r -t squashfs -o loop /cdrom/casper/minimal.squashfs /run/rofs/1-minimal',
    '-r -t squashfs -o loop /cdrom/casper/minimal.standard.squashfs /run/rofs/2-minimal.standard',
    '-r -t squashfs -o loop /cdrom/casper/minimal.standard.live.squashfs /run/rofs/3-minimal.standard.live',
    '-t overlay -o lowerdir=/run/rofs/3-minimal.standard.live:/run/rofs/2-minimal.standard:/run/rofs/1-minimal,upperdir=/run/cow/upper,workdir=/run/cow/work casper-root /root',
    '-n -o move /cdrom /root/cdrom',
  ]);
  assert.match(
    r.stdout,
    /^casper: root: minimal\.squashfs < minimal\.standard\.squashfs < minimal\.standard\.live\.squashfs \(bottom to top/m,
  );
});

test('layered: a missing chain member panics naming it, before anything is mounted', () => {
  const r = run(
    ['minimal.squashfs', 'minimal.standard.live.squashfs', 'zz-extra.squashfs'],
    'minimal.standard.live.squashfs',
    'casper_mount_root',
  );
  assert.equal(r.status, 42);
  assert.equal(
    r.stdout.trim(),
    'PANIC casper: layer chain of minimal.standard.live.squashfs is incomplete: missing /casper/minimal.standard.squashfs (chain: minimal.squashfs minimal.standard.squashfs minimal.standard.live.squashfs)',
  );
  assert.deepEqual(r.mounts, []);
});

test('without LAYERFS_PATH every /casper/*.squashfs is stacked in glob order, the last on top', () => {
  const r = run(['remaster.squashfs', 'filesystem.squashfs'], undefined, 'casper_mount_root');
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.mounts.find((m) => m.startsWith('-t overlay')) ?? '', /lowerdir=\/run\/rofs\/2-remaster:\/run\/rofs\/1-filesystem,/);
  assert.match(r.stdout, /^casper: root: filesystem\.squashfs < remaster\.squashfs \(bottom to top\) \+ tmpfs$/m);
});

test('no squashfs at all is a panic too', () => {
  const r = run([], undefined, 'casper_mount_root');
  assert.equal(r.status, 42);
  assert.match(r.stdout, /^PANIC casper: no root file system: \/casper has no \*\.squashfs/);
});
