// The engine install cache: keys, a stored layer comes back exactly (owners, modes, hard links, xattrs,
// overlay whiteouts), a pruned entry is dropped instead of restored, and apt's simulation is read right.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  cachedEngine,
  engineCacheKey,
  pruneEngineCache,
  restoreEngine,
  storeEngine,
  summariseTree,
} from '../../../src/rootfs/engine-cache.js';
import { parseAptSimulation } from '../../../src/rootfs/packages.js';

const isRoot = process.getuid?.() === 0;

test('apt-get -s: every Inst line becomes name=version, sorted; Conf and other lines are ignored', () => {
  const out = [
    'Reading package lists...',
    'The following NEW packages will be installed:',
    '  containerd docker.io runc',
    'Inst runc (1.1.5+ds1-1+deb12u1 Debian:12.8/stable [amd64])',
    'Inst libc6 [2.36-9] (2.36-9+deb12u9 Debian-Security:12/stable-security [amd64])',
    'Inst docker.io (20.10.24+dfsg1-1+b3 Debian:12.8/stable [amd64])',
    'Conf runc (1.1.5+ds1-1+deb12u1 Debian:12.8/stable [amd64])',
  ].join('\n');
  assert.deepEqual(parseAptSimulation(out), ['docker.io=20.10.24+dfsg1-1+b3', 'libc6=2.36-9+deb12u9', 'runc=1.1.5+ds1-1+deb12u1']);
  assert.deepEqual(parseAptSimulation('0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n'), []);
});

test('the key changes with any part of the identity, and only then', () => {
  const id = { base: { file: 'a' }, engine: 'docker', resolved: ['docker.io=1'] };
  assert.equal(engineCacheKey(id), engineCacheKey({ resolved: ['docker.io=1'], engine: 'docker', base: { file: 'a' } }));
  assert.notEqual(engineCacheKey(id), engineCacheKey({ ...id, resolved: ['docker.io=2'] }));
  assert.notEqual(engineCacheKey(id), engineCacheKey({ ...id, base: { file: 'b' } }));
  assert.match(engineCacheKey(id), /^[0-9a-f]{32}$/);
});

test(
  'a stored install comes back exactly; a pruned entry is dropped',
  { skip: !isRoot && 'needs root (device nodes, owners)' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remaster-enginecache-'));
    const layer = join(dir, 'layer');
    mkdirSync(join(layer, 'usr/bin'), { recursive: true });
    mkdirSync(join(layer, 'etc/docker'), { recursive: true });
    writeFileSync(join(layer, 'usr/bin/dockerd'), 'binary', { mode: 0o755 });
    linkSync(join(layer, 'usr/bin/dockerd'), join(layer, 'usr/bin/dockerd-link'));
    symlinkSync('dockerd', join(layer, 'usr/bin/docker-alias'));
    writeFileSync(join(layer, 'etc/docker/daemon.json'), '{}\n', { mode: 0o600 });
    chownSync(join(layer, 'etc/docker/daemon.json'), 0, 999);
    execFileSync('mknod', [join(layer, 'etc/removed-by-install'), 'c', '0', '0']);
    execFileSync('setfattr', ['-n', 'user.remaster', '-v', 'kept', join(layer, 'etc/docker/daemon.json')]);
    const cache = join(dir, 'cache');
    const key = engineCacheKey({ t: 1 });
    assert.equal(await cachedEngine(cache, key), undefined);
    await storeEngine(cache, key, layer, ['docker.io=1']);
    const entry = await cachedEngine(cache, key);
    assert.deepEqual(entry?.installedPackages, ['docker.io=1']);
    assert.deepEqual(entry.tree, await summariseTree(layer));

    const again = join(dir, 'again');
    mkdirSync(again);
    await restoreEngine(cache, key, again);
    const st = (p: string) => lstatSync(join(again, p));
    assert.equal(readFileSync(join(again, 'usr/bin/dockerd'), 'utf8'), 'binary');
    assert.equal(st('usr/bin/dockerd').mode & 0o7777, 0o755);
    assert.equal(st('usr/bin/dockerd').ino, st('usr/bin/dockerd-link').ino, 'hard link kept');
    assert.ok(st('usr/bin/docker-alias').isSymbolicLink());
    assert.equal(st('etc/docker/daemon.json').gid, 999);
    assert.equal(st('etc/docker/daemon.json').mode & 0o7777, 0o600);
    assert.ok(st('etc/removed-by-install').isCharacterDevice(), 'overlay whiteout kept');
    assert.equal(st('etc/removed-by-install').rdev, 0);
    assert.match(
      execFileSync('getfattr', ['-n', 'user.remaster', '--only-values', join(again, 'etc/docker/daemon.json')], { encoding: 'utf8' }),
      /^kept$/,
    );
    assert.equal(st('usr/bin/dockerd').mtimeMs, lstatSync(join(layer, 'usr/bin/dockerd')).mtimeMs);

    // Someone deleted files from the cached tree: the entry no longer counts, and is removed.
    rmSync(join(cache, 'engine', key, 'tree', 'usr/bin/dockerd'));
    assert.equal(await cachedEngine(cache, key), undefined);
    assert.ok(!existsSync(join(cache, 'engine', key)));
    rmSync(dir, { recursive: true, force: true });
  },
);

test('pruning keeps the most recently used installs and drops stale temporary folders', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'remaster-engineprune-'));
  const root = join(cache, 'engine');
  const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
  for (const [i, name] of ['k1', 'k2', 'k3'].entries()) {
    mkdirSync(join(root, name, 'tree'), { recursive: true });
    writeFileSync(join(root, name, 'entry.json'), '{}');
    const t = new Date(Date.now() - (3 - i) * 60_000);
    utimesSync(join(root, name, 'entry.json'), t, t);
  }
  mkdirSync(join(root, '.tmp-stale'));
  utimesSync(join(root, '.tmp-stale'), old, old);
  mkdirSync(join(root, '.tmp-busy'));
  const removed = await pruneEngineCache(cache, 2);
  assert.deepEqual(removed.sort(), ['.tmp-stale', 'k1']);
  assert.deepEqual(readdirSync(root).sort(), ['.tmp-busy', 'k2', 'k3']);
  rmSync(cache, { recursive: true, force: true });
});
