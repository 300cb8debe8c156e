// Variants in one run: one config file, three builds on the Debian fixture. A variant with a missing image fails with
// its own exit code and the others still build; the second good variant reuses the engine install and the archive.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { VariantsReport } from '../../src/build.js';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { cli, fixtureIso, mountsBelow } from '../helpers/fixture.js';

test(
  'variants: each builds its own ISO from one file; a failing variant does not stop the others; exit code says so',
  { timeout: 30 * 60 * 1000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remaster-variants-'));
    const tar = join(dir, 'app.tar');
    await writeBusyboxRootfs(tar);
    const config = join(dir, 'variants.yml');
    writeFileSync(
      config,
      [
        `iso: ${await fixtureIso()}`,
        'engine: podman',
        'verify: none',
        'images: ["rootfs:app.tar=acme/app:1"]',
        'variants:',
        '  - name: acme',
        '    out: acme.iso',
        '    diskInfo: ACME appliance 1.0',
        '  - name: broken',
        '    out: broken.iso',
        '    images: ["rootfs:missing.tar=globex/app:1"]',
        '  - out: initech.iso',
        '    images: [{ source: "rootfs:app.tar=initech/app:2", run: { name: web, command: ["httpd", "-f", "-p", "8080"] } }]',
        '',
      ].join('\n'),
    );
    const r = cli(['build', '-c', config, '--json']);
    assert.equal(r.status, 2, `exit code of the failed variant (a usage error): ${r.stderr.slice(-3000)}`);
    const report = JSON.parse(r.stdout) as VariantsReport;
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.variants.map((v) => [v.name, v.ok, v.exitCode]),
      [
        ['acme', true, 0],
        ['broken', false, 2],
        ['initech', true, 0],
      ],
    );
    assert.match(report.variants[1]?.error?.message ?? '', /missing\.tar/);
    assert.ok(existsSync(join(dir, 'acme.iso')) && existsSync(join(dir, 'initech.iso')));
    assert.equal(existsSync(join(dir, 'broken.iso')), false);
    const [acme, , initech] = report.variants.map((v) => v.report);
    assert.deepEqual(
      acme?.images?.images.map((i) => i.refs),
      [['acme/app:1']],
    );
    assert.deepEqual(
      initech?.images?.images.map((i) => i.refs),
      [['initech/app:2']],
    );
    assert.deepEqual(
      initech?.images?.apps.map((a) => a.name),
      ['web'],
    );
    // The second good variant shares the first one's engine install (same base, engine and packages).
    assert.equal(initech?.cache?.engine?.reused, true, JSON.stringify(initech?.cache));
    assert.equal(initech?.cache?.engine?.key, acme?.cache?.engine?.key);
    assert.notEqual(acme?.output?.sha256, initech?.output?.sha256);
    assert.deepEqual(mountsBelow(dir), []);

    // A list that cannot be right is refused as a whole, before any work.
    writeFileSync(config, `iso: ${await fixtureIso()}\nimages: [app.tar]\nvariants:\n  - out: a.iso\n  - out: a.iso\n`);
    const dup = cli(['build', '-c', config]);
    assert.equal(dup.status, 2);
    assert.match(dup.stderr, /variants a and a both write|same name/);
    writeFileSync(config, `iso: ${await fixtureIso()}\nimages: [app.tar]\nvariants:\n  - out: a.iso\n    cacheDir: /tmp/x\n`);
    const runKey = cli(['build', '-c', config]);
    assert.equal(runKey.status, 2);
    assert.match(runKey.stderr, /variants\[0\]: "cacheDir" is set once for the whole run/);
    const withOut = cli(['build', '-c', config, '--out', join(dir, 'x.iso')]);
    assert.equal(withOut.status, 2);
    assert.match(withOut.stderr, /--out with variants: each variant has its own out/);
  },
);
