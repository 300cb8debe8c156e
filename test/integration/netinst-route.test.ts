// The netinst route on the build host, no QEMU: a base in the shape of Debian's netinst CD (d-i installing the base
// system with debootstrap from the medium's pool, no live root). A build reaches only installed systems: the engine's
// .debs and one payload tar go under /remaster, every d-i initrd gets a late command after the site's own, and the
// build replays that late command (in-target dpkg -i, the tar unpacked) on the root d-i installs from this very pool.
// The pool, its Release and the boot setup stay as they were.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BuildReport } from '../../src/build.js';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { lateCommand } from '../../src/installer/preseed.js';
import { readInitrd } from '../../src/iso/initrd.js';
import { inspectIso } from '../../src/iso/inspect.js';
import { ISO_SECTOR } from '../../src/iso/probe.js';
import { buildArgs } from '../helpers/build-args.js';
import { cli, mountsBelow, netinstFixtureIso } from '../helpers/fixture.js';
import { extract, tool } from '../helpers/iso-surgery.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-netinst-'));

test(
  'a Debian netinst base: the engine .debs and the payload on the medium, the late command in d-i, replayed on the host',
  { timeout: 45 * 60 * 1000 },
  async () => {
    const base = await netinstFixtureIso();
    const facts = await inspectIso(base);
    assert.equal(facts.flavor, 'debian-installer');
    assert.equal(facts.pool?.suite, 'trixie');
    assert.deepEqual(
      facts.installers.map((i) => [i.kind, i.supported]),
      [['d-i', true]],
    );
    assert.equal(facts.targets.live.reachable, false);
    const shown = cli(['inspect', base]);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /^targets: live no \(the base has no live root\); installed yes \(d-i\)$/m);

    const rootfs = join(dir, 'rootfs.tar');
    await writeBusyboxRootfs(rootfs, { mtime: 0 });
    const image = `rootfs:${rootfs}=demo/busybox:1.0`;

    // A live target is refused before any work: there is no live session.
    const live = cli(buildArgs({ iso: base, out: join(dir, 'never.iso'), images: [image], more: ['--target', 'live'] }));
    assert.equal(live.status, 2, live.stderr);
    assert.match(live.stderr, /^remaster: error: target live: .* has no live session to put the payload in/m);
    assert.match(live.stderr, /^remaster: hint: use --target installed$/m);

    const site = join(dir, 'site.cfg');
    writeFileSync(site, 'd-i netcfg/get_hostname string plant-9\nd-i preseed/late_command string echo site > /target/etc/site\n');
    const out = join(dir, 'netinst.iso');
    const r = cli(
      buildArgs({
        iso: base,
        out,
        engine: 'docker',
        images: [image],
        more: ['--preseed', site, '--json', '-q', '--log-file', join(dir, 'build.log')],
      }),
    );
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    const report = JSON.parse(r.stdout) as BuildReport;
    assert.equal(report.target, 'installed', 'the only target a netinst base has');
    assert.equal(report.layer?.isoPath, '/remaster/payload.tar');
    assert.ok(
      report.packages?.some((p) => p.startsWith('docker.io=')),
      String(report.packages),
    );
    const log = readFileSync(join(dir, 'build.log'), 'utf8');
    assert.match(
      log,
      /d-i: \d+ initrd\(s\) carry the late command for \d+ \.deb and the payload \(replayed and checked\), and .*site\.cfg/,
    );
    assert.match(log, /skip {2}Write the root filesystem layer \(squashfs\): a netinst or DVD base has no live root/);

    const outFacts = await inspectIso(out);
    assert.equal(outFacts.flavor, 'debian-installer');
    const files = new Set(outFacts.files.map((f) => f.path));
    const debs = [...files].filter((p) => p.startsWith('/remaster/debs/') && p.endsWith('.deb'));
    assert.ok(
      debs.some((p) => /\/docker\.io_[^/]+_amd64\.deb$/.test(p)),
      debs.join(' '),
    );
    // Only what the base system lacks: nothing debootstrap installs from the pool (base-files, dpkg, libc6) is added.
    for (const own of ['base-files', 'dpkg', 'libc6']) assert.ok(!debs.some((p) => p.startsWith(`/remaster/debs/${own}_`)), own);
    // The payload: the loader, its enabled unit, the archive and the manifest; no engine files (dpkg brings those).
    extract(out, '/remaster/payload.tar', join(dir, 'payload.tar'));
    const listed = tool('tar', ['-tf', join(dir, 'payload.tar')]).split('\n');
    for (const p of [
      'usr/lib/remaster/load-images',
      'etc/systemd/system/multi-user.target.wants/remaster-loader.service',
      'etc/docker/daemon.json',
    ])
      assert.ok(listed.includes(p), `${p} in ${listed.join(' ')}`);
    assert.ok(
      listed.some((p) => /^var\/lib\/remaster\/images\/.+\.tar\.zst$/.test(p)),
      listed.join(' '),
    );
    assert.ok(!listed.some((p) => p.startsWith('usr/bin/') || p.startsWith('var/lib/dpkg')), 'no engine install in the payload');

    // Every d-i initrd: the late script and one preseed (the medium's answers, the site's, then remaster's late command).
    for (const path of ['/install/initrd.gz', ...(files.has('/install/gtk/initrd.gz') ? ['/install/gtk/initrd.gz'] : [])]) {
      const f = outFacts.files.find((x) => x.path === path);
      assert.ok(f, path);
      const initrd = await readInitrd(out, f.lba * ISO_SECTOR, f.bytes, () => true);
      assert.match(initrd.files.get('usr/lib/remaster/netinst-late') ?? '', /^DEBS=\$CDROM\/remaster\/debs$/m);
      const preseed = initrd.files.get('preseed.cfg') ?? '';
      assert.match(preseed, /^d-i netcfg\/get_hostname string plant-9$/m);
      assert.equal(lateCommand(preseed), 'echo site > /target/etc/site; \\\n  sh /usr/lib/remaster/netinst-late');
    }
    // The pool and its Release are the base's, byte for byte.
    const release = facts.pool?.release ?? '';
    extract(base, release, join(dir, 'Release.base'));
    extract(out, release, join(dir, 'Release.out'));
    assert.deepEqual(readFileSync(join(dir, 'Release.out')), readFileSync(join(dir, 'Release.base')));
    assert.deepEqual(
      outFacts.files.filter((f) => f.path.startsWith('/pool/')).map((f) => [f.path, f.bytes]),
      facts.files.filter((f) => f.path.startsWith('/pool/')).map((f) => [f.path, f.bytes]),
    );
    assert.deepEqual(mountsBelow(dir), []);
  },
);
