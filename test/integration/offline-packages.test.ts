// `packages fetch` then an offline build in a network namespace with no interfaces: nothing may need the network.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BuildReport } from '../../src/build.js';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { cli, fixtureIso } from '../helpers/fixture.js';
import { CLI } from '../helpers/paths.js';
import { assertRising } from '../helpers/progress.js';
import { buildArgs } from '../helpers/build-args.js';

/** Percentages of one kind of plain progress line on stderr ("[OUTPUT] [12:00:00] dpkg: 42 % (...)"). */
const plainPercentages = (stderr: string, label: string) =>
  [...stderr.matchAll(new RegExp(`^\\[OUTPUT\\] \\[[\\d:]+\\] ${label} (\\d+) %`, 'gm'))].map((m) => Number(m[1]));

test('packages fetch gives the closure; build --packages installs it with no network at all', { timeout: 20 * 60 * 1000 }, async () => {
  const base = await fixtureIso();
  const dir = mkdtempSync(join(tmpdir(), 'remaster-offline-'));
  const debs = join(dir, 'debs');
  const f = cli(['packages', 'fetch', '--engine', 'podman', '--iso', base, '--out', debs]);
  assert.equal(f.status, 0, f.stderr.slice(-3000));
  assertRising(plainPercentages(f.stderr, 'apt: download'), 'apt download (status fd)');
  const files = readdirSync(debs);
  assert.ok(files.some((d) => d.startsWith('podman_')));
  assert.ok(
    files.some((d) => d.startsWith('conmon_')),
    'dependencies are included',
  );
  assert.equal(JSON.parse(readFileSync(join(debs, 'packages.json'), 'utf8')).engine, 'podman');

  const rootfs = join(dir, 'rootfs.tar');
  await writeBusyboxRootfs(rootfs);
  const offline = (out: string) =>
    spawnSync(
      'unshare',
      [
        '--net',
        process.execPath,
        CLI,
        ...buildArgs({ iso: base, out, engine: 'podman', images: [`rootfs:${rootfs}=a/b:1`] }),
        '--packages',
        debs,
        '--json',
        // dpkg must run (its progress is checked), not a copy of the same install cached by an earlier run.
        '--no-engine-cache',
      ],
      {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    );
  const ok = offline(join(dir, 'offline.iso'));
  assert.equal(ok.status, 0, ok.stderr.slice(-3000));
  const report = JSON.parse(ok.stdout) as BuildReport;
  // dpkg's status fd: each package unpacked, then configured, counted up to 100 %.
  assertRising(plainPercentages(ok.stderr, 'dpkg:'), 'dpkg -i');
  assert.ok(
    report.packages?.some((p) => p.startsWith('podman=')),
    JSON.stringify(report.packages),
  );

  // A folder that lacks a dependency fails the build with the hint, and leaves no ISO.
  for (const d of files.filter((x) => x.startsWith('conmon_'))) rmSync(join(debs, d));
  const bad = offline(join(dir, 'broken.iso'));
  assert.equal(bad.status, 1, bad.stderr.slice(-3000));
  assert.match(bad.stderr, /^remaster: hint: the package folder must hold the full dependency closure/m);
  assert.deepEqual(
    readdirSync(dir).filter((x) => x.includes('broken.iso')),
    [],
  );
});
