// End to end, real tools only: build the fixture with each engine, boot the exact output under SeaBIOS and
// OVMF, and check from inside the guest that the engine holds the image with the ID in the manifest.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BuildReport } from '../../src/build.js';
import { defaultCacheDir } from '../../src/config/paths.js';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { cli, fixtureIso, mountsBelow } from '../helpers/fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-e2e-'));
const rootfs = join(dir, 'busybox.tar');
const built: Record<string, string> = {};

for (const engine of ['docker', 'podman'] as const) {
  test(`${engine}: build, boot under BIOS and UEFI, image present with its ID`, { timeout: 40 * 60 * 1000 }, async () => {
    const base = await fixtureIso();
    if (!existsSync(rootfs)) await writeBusyboxRootfs(rootfs, { mtime: 0 });
    const out = join(dir, `${engine}.iso`);
    const r = cli([
      'build',
      '--iso',
      base,
      '--out',
      out,
      '--engine',
      engine,
      '--image',
      `rootfs:${rootfs}=demo/busybox:1.0`,
      '--verify',
      'all',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr.slice(-4000));
    const report = JSON.parse(r.stdout) as BuildReport;
    assert.equal(report.ok, true);
    assert.equal(report.mode, 'layer');
    assert.equal(report.output?.path, out);
    assert.ok(existsSync(out));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('remaster-partial') || f.endsWith('.unverified')),
      [],
    );
    const image = report.images?.images[0];
    assert.ok(image);
    assert.deepEqual(
      report.verify.map((v) => v.firmware),
      ['bios', 'uefi'],
    );
    for (const v of report.verify) {
      assert.equal(v.ok, true, `${v.firmware}: ${v.diagnosis}`);
      assert.equal(v.loaderResult, 'success');
      const seen = v.images.find((i) => i.ref.endsWith('demo/busybox:1.0'));
      assert.equal(seen?.id, image.imageId, `${v.firmware}: guest lists ${JSON.stringify(v.images)}`);
      process.stderr.write(`e2e ${engine}/${v.firmware}/${v.accel}: images present ${v.secondsToReport?.toFixed(1)} s after QEMU start\n`);
    }
    process.stderr.write(`e2e ${engine}: build ${report.seconds} s, output ${(report.output?.bytes ?? 0) / 1048576} MiB\n`);
    assert.deepEqual(mountsBelow(defaultCacheDir()), []);
    built[engine] = out;
  });
}

test('verify fails, naming what is missing, when the guest lacks an expected image', { timeout: 20 * 60 * 1000 }, () => {
  const iso = built.docker;
  assert.ok(iso, 'the docker build above must have passed');
  const r = cli([
    'verify',
    iso,
    '--engine',
    'docker',
    '--expect',
    'demo/busybox:1.0',
    '--expect',
    'acme/absent:9',
    '--json',
    '--work-dir',
    join(dir, 'verify-missing'),
  ]);
  assert.equal(r.status, 1, r.stderr.slice(-3000));
  const j = JSON.parse(r.stdout) as { ok: boolean; outcomes: { ok: boolean; missing: string[]; diagnosis?: string }[] };
  assert.equal(j.ok, false);
  assert.deepEqual(j.outcomes[0]?.missing, ['acme/absent:9']);
  assert.match(j.outcomes[0]?.diagnosis ?? '', /acme\/absent:9/);
});
