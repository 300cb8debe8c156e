// Two builds at once on one cache wait for each other (apt, engine install, image archives) and both succeed.
// A second build with another output reuses the first one's compressed image archive, downloaded .debs and
// engine install (shared caches under --cache-dir), no cache ends up in the new layer, and with
// SOURCE_DATE_EPOCH the build that reused everything gives the same ISO, byte for byte, as the one that did not.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BuildReport } from '../../src/build.js';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { cli, fixtureIso, mountsBelow } from '../helpers/fixture.js';
import { CLI } from '../helpers/paths.js';
import { buildArgs } from '../helpers/build-args.js';

test('variant builds share the image archive and package caches', { timeout: 30 * 60 * 1000 }, async () => {
  const base = await fixtureIso();
  const dir = mkdtempSync(join(tmpdir(), 'remaster-caches-'));
  const cacheDir = join(dir, 'cache');
  const rootfs = join(dir, 'rootfs.tar');
  await writeBusyboxRootfs(rootfs, { mtime: 0 });
  const reports: BuildReport[] = [];
  const logs: string[] = [];
  for (const n of [1, 2]) {
    const log = join(dir, `build${n}.log`);
    const r = cli(
      [
        ...buildArgs({ iso: base, out: join(dir, `variant${n}.iso`), images: [`rootfs:${rootfs}=demo/busybox:1.0`] }),
        '--cache-dir',
        cacheDir,
        '--work-dir',
        join(dir, `work${n}`),
        '--keep-work',
        '--json',
        '-q',
        '--log-file',
        log,
      ],
      { SOURCE_DATE_EPOCH: '1700000000' },
    );
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    reports.push(JSON.parse(r.stdout) as BuildReport);
    logs.push(readFileSync(log, 'utf8'));
  }
  const [first, second] = reports;
  assert.ok(first && second);
  assert.deepEqual(first.cache?.images, [{ ref: 'demo/busybox:1.0', cached: false }]);
  assert.ok((first.cache?.debs?.downloaded ?? 0) > 0, JSON.stringify(first.cache));
  assert.match(logs[0] ?? '', /demo\/busybox:1\.0: .*compressed, stored in the cache/);

  assert.deepEqual(second.cache?.images, [{ ref: 'demo/busybox:1.0', cached: true }]);
  assert.equal(second.cache?.debs?.downloaded, 0, JSON.stringify(second.cache));
  assert.ok((second.cache?.debs?.alreadyCached ?? 0) >= (first.cache?.debs?.downloaded ?? 0));
  assert.match(logs[1] ?? '', /demo\/busybox:1\.0: .*\(zstd, cached\)/);
  assert.match(logs[1] ?? '', /0 \.deb downloaded/);
  // The engine install: stored by the first build (apt and dpkg ran), copied by the second (they did not).
  assert.equal(first.cache?.engine?.reused, false);
  assert.deepEqual(second.cache?.engine, { key: first.cache?.engine?.key, reused: true });
  assert.match(logs[1] ?? '', /engine install reused from the cache/);
  assert.doesNotMatch(logs[1] ?? '', /dpkg: |apt: install/);
  assert.equal(readdirSync(join(cacheDir, 'engine')).filter((e) => !e.startsWith('.')).length, 1);
  assert.deepEqual(second.packages, first.packages);
  assert.equal(second.output?.sha256, first.output?.sha256, 'a cached install gives the same ISO as a fresh one');
  // The same archive, byte for byte, in both payloads.
  assert.equal(second.images?.images[0]?.sha256, first.images?.images[0]?.sha256);
  assert.equal(
    readdirSync(join(cacheDir, 'images')).filter((e) => /^[0-9a-f]{32}$/.test(e)).length,
    1,
    'one archive entry (beside digests/)',
  );

  // The caches were bound in, never written into the root: the layer holds no .deb and no package lists.
  for (const n of [1, 2]) {
    const layer = join(dir, `work${n}`, 'layer.squashfs');
    const ls = spawnSync('unsquashfs', ['-lc', '-d', '', layer], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    assert.equal(ls.status, 0, ls.stderr);
    const files = ls.stdout.split('\n').filter(Boolean);
    assert.ok(
      files.some((f) => f === '/usr/sbin/dockerd'),
      'the layer holds the engine',
    );
    assert.deepEqual(
      files.filter((f) => f.startsWith('/var/cache/apt/') || /^\/var\/lib\/apt\/lists\/.+_(Packages|InRelease|Release)/.test(f)),
      [],
    );
    assert.deepEqual(mountsBelow(join(dir, `work${n}`)), []);
  }
  rmSync(dir, { recursive: true, force: true });
});

test('two builds started together on one cache take turns and both succeed', { timeout: 30 * 60 * 1000 }, async () => {
  const base = await fixtureIso();
  const dir = mkdtempSync(join(tmpdir(), 'remaster-together-'));
  const cacheDir = join(dir, 'cache');
  const rootfs = join(dir, 'rootfs.tar');
  await writeBusyboxRootfs(rootfs, { mtime: 0 });
  const builds = [1, 2].map((n) => {
    const log = join(dir, `build${n}.log`);
    const args = buildArgs({
      iso: base,
      out: join(dir, `together${n}.iso`),
      engine: 'podman',
      images: [`rootfs:${rootfs}=demo/busybox:1.0`],
      more: ['--cache-dir', cacheDir, '--json', '-q', '--log-file', log],
    });
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    return { n, log, pid: child.pid ?? 0, done, out: () => ({ stdout, stderr }) };
  });
  const codes = await Promise.all(builds.map((b) => b.done));
  for (const [i, b] of builds.entries()) assert.equal(codes[i], 0, `build ${b.n}: ${b.out().stderr.slice(-3000)}`);
  const reports = builds.map((b) => JSON.parse(b.out().stdout) as BuildReport);
  const logs = builds.map((b) => readFileSync(b.log, 'utf8'));
  // The apt folders were used one build at a time: one of them waited, and said for whom.
  const waited = builds.filter((b, i) => {
    const other = builds[1 - i];
    return new RegExp(`waiting for the apt cache \\S+: in use by pid ${other?.pid} `).test(logs[i] ?? '');
  });
  assert.equal(waited.length, 1, `exactly one build waited for the other's apt:\n${logs.join('\n---\n').slice(-4000)}`);
  // Both asked for the same install: it was made once, and the build that waited copied it.
  const engines = reports.map((r) => r.cache?.engine?.reused).sort();
  assert.deepEqual(engines, [false, true]);
  assert.equal(reports[0]?.cache?.engine?.key, reports[1]?.cache?.engine?.key);
  assert.deepEqual(mountsBelow(dir), []);
  rmSync(dir, { recursive: true, force: true });
});
