// docker's ready store, built for real on the Debian fixture: the store the ISO carries is the data root the shipped
// dockerd filled (overlay2 on ext4), holding every manifest image under every reference, and no archive travels.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { BuildReport } from '../../src/build.js';
import { xorrisoExtract } from '../../src/iso/xorriso.js';
import { busyboxImageArg, cli, fixtureIso, mountsBelow } from '../helpers/fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-docker-ready-'));
const mnt = join(dir, 'mnt');
after(() => {
  spawnSync('umount', [mnt]);
});

test(
  'docker ready store: the shipped dockerd fills an ext4 data root; refs and IDs match the manifest; no archive in the layer',
  { timeout: 30 * 60 * 1000 },
  async () => {
    const iso = await fixtureIso();
    const out = join(dir, 'ready.iso');
    const r = cli([
      'build',
      '--iso',
      iso,
      '--out',
      out,
      '--engine',
      'docker',
      '--image-store',
      'ready',
      '--image',
      await busyboxImageArg(),
      '--verify',
      'none',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr.slice(-4000));
    const report = JSON.parse(r.stdout) as BuildReport;
    const img = report.images?.images[0];
    assert.ok(img);
    assert.ok(
      report.stages.some((s) => s.stage === 'Fill the ready image store' && !s.skipped),
      JSON.stringify(report.stages),
    );
    assert.ok(
      report.packages?.some((p) => p.startsWith('dmsetup=')),
      `dmsetup is installed for the snapshot: ${report.packages?.join(' ')}`,
    );

    const x = join(dir, 'x');
    mkdirSync(x);
    await xorrisoExtract(out, [
      { from: '/remaster/store.squashfs', to: join(x, 'store.squashfs') },
      { from: report.layer?.isoPath ?? '/live/?', to: join(x, 'layer.squashfs') },
    ]);
    const un = spawnSync('unsquashfs', ['-no-progress', '-d', join(x, 'store'), join(x, 'store.squashfs')], { encoding: 'utf8' });
    assert.equal(un.status, 0, un.stderr);
    assert.deepEqual(readdirSync(join(x, 'store')).sort(), ['docker.ext4', 'docker.ext4.sha256']);
    const ext4 = join(x, 'store', 'docker.ext4');
    assert.equal(
      readFileSync(`${ext4}.sha256`, 'utf8').trim(),
      createHash('sha256').update(readFileSync(ext4)).digest('hex'),
      'the sha256 beside the image names its exact bytes',
    );
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-o', 'ro,loop', ext4, mnt], { encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    const repos = JSON.parse(readFileSync(join(mnt, 'image/overlay2/repositories.json'), 'utf8')) as {
      Repositories: Record<string, Record<string, string>>;
    };
    assert.deepEqual(repos.Repositories, { 'demo/busybox': { 'demo/busybox:1': img.imageId } });
    assert.ok(existsSync(join(mnt, 'image/overlay2/imagedb/content/sha256', img.imageId.replace('sha256:', ''))));
    assert.ok(readdirSync(join(mnt, 'overlay2')).length >= 2, 'overlay2 holds the layer and its link folder');
    spawnSync('umount', [mnt]);

    // The root layer carries the loader and the setup, but not the archive: the images travel as the store.
    const ls = spawnSync('unsquashfs', ['-l', '-d', '', join(x, 'layer.squashfs')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    assert.equal(ls.status, 0, ls.stderr);
    assert.ok(/^\/usr\/lib\/remaster\/ready-store-setup$/m.test(ls.stdout), 'the layer has the setup script');
    assert.ok(!/^\/var\/lib\/remaster\/images\/.+\.tar/m.test(ls.stdout), 'no archive in the layer');
    assert.deepEqual(mountsBelow(dir), []);
  },
);
