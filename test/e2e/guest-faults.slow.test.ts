// Faults inside the guest: one archive corrupt, one that does not fit the engine store. The loader must load
// the good image anyway, refuse the other two with a clear journal line each, and exit non-zero, and
// verification must report exactly that.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
