// Faults inside the guest. (1) One archive corrupt, one that does not fit the engine store: the loader must load
// the good image anyway, refuse the other two with a clear journal line each, and exit non-zero, and
// verification must report exactly that. (2) The power cut in the middle of a load, with the store on a disk
// that outlives the boot: the image loaded before the cut stays, the next boot's journal reports the cut load,
// and that boot loads the rest.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { cli, fixtureIso } from '../helpers/fixture.js';
import { editLayer } from '../helpers/iso-surgery.js';

test(
  'corrupt archive and full store in the guest: the good image loads, both failures are reported',
  { timeout: 30 * 60 * 1000 },
  async () => {
    const base = await fixtureIso();
    const dir = mkdtempSync(join(tmpdir(), 'remaster-faults-'));
    const images: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      const rootfs = join(dir, `${name}.tar`);
      await writeBusyboxRootfs(rootfs, { index: `image ${name}\n` });
      images.push(`rootfs:${rootfs}=fault/${name}:1`);
    }
    const good = join(dir, 'good.iso');
    // A 4 MiB store: image a (about 2 MiB unpacked) fits, b no longer does.
    const config = join(dir, 'faults.json');
    writeFileSync(config, JSON.stringify({ iso: base, out: good, engine: 'podman', images, verify: 'none', tmpfsSize: '4M' }));
    const b = cli(['build', '-c', config]);
    assert.equal(b.status, 0, b.stderr.slice(-3000));

    const bad = join(dir, 'faults.iso');
    editLayer(good, dir, bad, (tree) => {
      const dirImages = join(tree, 'var/lib/remaster/images');
      const c = readdirSync(dirImages).find((f) => f.startsWith('fault_c_1'));
      assert.ok(c);
      appendFileSync(join(dirImages, c), 'bit rot');
    });

    const evidence = join(dir, 'evidence');
    const r = cli(['verify', bad, '--engine', 'podman', '--expect', 'fault/a:1', '--json', '--evidence-dir', evidence]);
    assert.equal(r.status, 1, r.stderr.slice(-3000));
    const j = JSON.parse(r.stdout) as { outcomes: { loaderResult?: string; images: { ref: string }[]; missing: string[] }[] };
    const o = j.outcomes[0];
    assert.ok(o);
    assert.equal(o.loaderResult, 'exit-code');
    assert.deepEqual(o.missing, []);
    assert.ok(o.images.some((i) => i.ref.endsWith('fault/a:1')));
    assert.ok(!o.images.some((i) => /fault\/[bc]:1$/.test(i.ref)));
    const report = readFileSync(join(evidence, 'bios-cdrom', 'report.txt'), 'utf8');
    assert.match(report, /^journal loaded: fault\/a:1/m);
    assert.match(report, /^journal FAILED fault\/b:1: needs about \d+ bytes in \/var\/lib\/containers\/storage to load, only \d+ free/m);
    assert.match(report, /^journal FAILED fault\/c:1: .* does not match its sha256/m);
    assert.match(report, /^journal summary: 3 images, 1 loaded, 0 already present, 2 failed$/m);
  },
);

for (const engine of ['podman', 'docker'] as const) {
  test(
    `${engine}: power cut in the middle of a load: the next boot keeps what was loaded, reports the cut, and loads the rest`,
    { timeout: 30 * 60 * 1000 },
    async () => {
      const base = await fixtureIso();
      const dir = mkdtempSync(join(tmpdir(), 'remaster-powercut-'));
      const images: string[] = [];
      for (const name of ['a', 'b', 'c']) {
        const rootfs = join(dir, `${name}.tar`);
        // b carries 64 MiB that do not compress: its load lasts seconds even on a fast machine, so the cut lands in it.
        await writeBusyboxRootfs(rootfs, { index: `image ${name}\n`, ...(name === 'b' ? { filler: 64 * 1024 * 1024 } : {}) });
        images.push(`rootfs:${rootfs}=fault/${name}:1`);
      }
      const iso = join(dir, 'store.iso');
      const config = join(dir, 'store.json');
      writeFileSync(config, JSON.stringify({ iso: base, out: iso, engine, images, verify: 'none', storeDevice: 'LABEL=remaster-store' }));
      const b = cli(['build', '-c', config]);
      assert.equal(b.status, 0, b.stderr.slice(-3000));

      const evidence = join(dir, 'evidence');
      const expect = ['a', 'b', 'c'].flatMap((n) => ['--expect', `fault/${n}:1`]);
      const args = ['verify', iso, '--engine', engine, ...expect, '--store-device', 'LABEL=remaster-store'];
      const r = cli([...args, '--power-cut', 'fault/b:1', '--json', '--evidence-dir', evidence]);
      assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr.slice(-3000));
      const j = JSON.parse(r.stdout) as {
        outcomes: { ok: boolean; storeFs?: string; powerCut?: { image: string; reportedByLoader: boolean; evidenceDir: string } }[];
      };
      const o = j.outcomes[0];
      assert.ok(o?.ok);
      assert.equal(o.storeFs, 'ext4', 'the store is on the disk, not a tmpfs');
      assert.equal(o.powerCut?.image, 'fault/b:1');
      assert.equal(o.powerCut.reportedByLoader, true);

      // The cut boot: a was loaded, b had started, and the power went before b finished.
      const cutSerial = readFileSync(join(o.powerCut.evidenceDir, 'serial.log'), 'utf8');
      assert.match(cutSerial, /loaded: fault\/a:1/);
      assert.match(cutSerial, /loading: fault\/b:1 from /);
      assert.doesNotMatch(cutSerial, /loaded: fault\/b:1/);
      assert.doesNotMatch(cutSerial, /remaster-report 1/, 'the cut boot never reported');

      // The next boot, same disk: a is still there, the cut load is in the journal, b and c load.
      const report = readFileSync(join(evidence, 'bios-cdrom', 'report.txt'), 'utf8');
      assert.match(report, /^store-fs ext4$/m);
      assert.match(report, /^journal INTERRUPTED fault\/b:1: an earlier boot ended \(power cut or reset\) while loading it/m);
      assert.match(report, /^journal present: fault\/a:1/m);
      assert.match(report, /^journal loaded: fault\/b:1/m);
      assert.match(report, /^journal loaded: fault\/c:1/m);
      assert.match(report, /^journal summary: 3 images, 2 loaded, 1 already present, 0 failed$/m);
      assert.ok(!existsSync(join(evidence, 'bios-cdrom', 'store-disk.img')), 'the store disk is not left behind');
    },
  );
}
