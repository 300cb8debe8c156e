import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { engineConfigFiles, loaderFiles, render } from '../../../src/units/render.js';

test('render fills placeholders and refuses unsafe, missing or unused values', () => {
  assert.equal(render('a=@@X@@', { X: 'docker' }), 'a=docker');
  assert.throws(() => render('@@X@@', { X: 'x; rm -rf /' }), /unsafe value/);
  assert.throws(() => render('@@X@@', { X: 'a\nb' }), /unsafe value/);
  assert.throws(() => render('@@X@@', { X: '$(id)' }), /unsafe value/);
  assert.throws(() => render('@@X@@ @@Y@@', { X: 'a' }), /no value for @@Y@@/);
  assert.throws(() => render('@@X@@', { X: 'a', Z: 'b' }), /never used: Z/);
});

for (const engine of ['docker', 'podman'] as const) {
  test(`loader files for ${engine}: units ordered after the engine, enabled by symlink, scripts parse`, () => {
    const files = loaderFiles({ engine, compression: 'zstd', deleteAfterLoad: false, tmpfsSize: '75%', reportPort: 'org.remaster.report' });
    const unit = files.find((f) => f.path === 'usr/lib/systemd/system/remaster-loader.service')?.content ?? '';
    assert.match(
      unit,
      engine === 'docker'
        ? /^After=remaster-storage.service docker.service/m
        : /^After=remaster-storage.service podman.service podman-restart.service/m,
    );
    if (engine === 'docker') assert.match(unit, /^Requires=docker.service$/m);
    assert.doesNotMatch(unit, /@@/);
    const wants = files.filter((f) => f.symlink).map((f) => [f.path, f.symlink]);
    assert.deepEqual(wants, [
      ['etc/systemd/system/multi-user.target.wants/remaster-loader.service', '/usr/lib/systemd/system/remaster-loader.service'],
      ['etc/systemd/system/multi-user.target.wants/remaster-storage.service', '/usr/lib/systemd/system/remaster-storage.service'],
    ]);
    // The storage unit has default dependencies (after basic.target): ordering it before a socket is a cycle.
    const storage = files.find((f) => f.path.endsWith('remaster-storage.service'))?.content ?? '';
    assert.doesNotMatch(storage.match(/^Before=.*$/m)?.[0] ?? '', /\.socket/);
    const rules = files.find((f) => f.path.endsWith('90-remaster-report.rules'))?.content ?? '';
    assert.match(rules, /ATTR\{name\}=="org.remaster.report".*SYSTEMD_WANTS\}\+="remaster-report.service"/);
    for (const f of files.filter((x) => x.mode === 0o755)) {
      const r = spawnSync('bash', ['-n'], { input: f.content, encoding: 'utf8' });
      assert.equal(r.status, 0, `${f.path}: ${r.stderr}`);
    }
    const loader = files.find((f) => f.path.endsWith('load-images'))?.content ?? '';
    assert.match(loader, /^DECOMPRESS=\(zstd -dcq --long=31\)$/m);
    assert.match(loader, new RegExp(`^ENGINE=${engine}$`, 'm'));
  });
}

test('engine config pins the storage driver without clobbering an existing file', () => {
  assert.match(engineConfigFiles('podman', undefined)[0]?.content ?? '', /driver = "overlay"/);
  assert.deepEqual(engineConfigFiles('podman', '[storage]\ndriver="btrfs"\n'), []);
  assert.deepEqual(JSON.parse(engineConfigFiles('docker', '{"log-driver":"journald"}')[0]?.content ?? ''), {
    'log-driver': 'journald',
    'storage-driver': 'overlay2',
  });
  assert.deepEqual(engineConfigFiles('docker', '{"storage-driver":"btrfs"}'), []);
});
