// Installer routes on the build host, no QEMU: a base in the shape of Debian's official live ISOs (d-i with
// live-installer in /install, Calamares settings in the live root) made from the fixture; a build with --target both
// puts the hook and the merged preseed into every d-i initrd and the layer into Calamares' unpackfs.conf, and replays
// both installers' copies (the build fails if either would miss the payload). Refusals: unreachable targets, answers
// that would go nowhere.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BuildReport } from '../../src/build.js';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { initrdSegment } from '../../src/installer/cpio.js';
import { lateCommand } from '../../src/installer/preseed.js';
import { readInitrd } from '../../src/iso/initrd.js';
import { inspectIso } from '../../src/iso/inspect.js';
import { ISO_SECTOR } from '../../src/iso/probe.js';
import { buildArgs } from '../helpers/build-args.js';
import { diCommands } from '../helpers/paths.js';
import { cli, fixtureIso, mountsBelow } from '../helpers/fixture.js';
import { extract, tool } from '../helpers/iso-surgery.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-routes-'));
const DEBIAN_UNPACKFS = `---
unpack:
    -   source: "/run/live/medium/live/filesystem.squashfs"
        sourcefs: "squashfs"
        destination: ""
`;

let shaped: Promise<string> | undefined;

/** The fixture plus what Debian's live ISOs add: d-i (text and gtk) in /install, live-installer, Calamares settings. */
function installerShapedBase(): Promise<string> {
  shaped ??= makeInstallerShapedBase();
  return shaped;
}

async function makeInstallerShapedBase(): Promise<string> {
  const fixture = await fixtureIso();
  const work = join(dir, 'base-work');
  mkdirSync(work, { recursive: true });
  extract(fixture, '/live/vmlinuz', join(work, 'vmlinuz'));
  // Stand-in d-i initrds: the answers a medium may carry in its initrd, which remaster must keep.
  const ownPreseed = 'd-i debian-installer/locale string en_US\nd-i preseed/late_command string echo medium\n';
  // With the commands Debian 13's d-i has (the build's replay runs the hook with only those on PATH).
  const commands = diCommands();
  writeFileSync(
    join(work, 'initrd.gz'),
    initrdSegment(
      [
        { path: 'preseed.cfg', mode: 0o644, content: ownPreseed },
        ...commands.map((c) => ({ path: `usr/bin/${c}`, mode: 0o755, content: '' })),
      ],
      0,
    ),
  );
  writeFileSync(join(work, 'udeb_include'), 'netcfg\nethdetect\nlive-installer\n');
  // Calamares' settings in a live-boot layer of their own (live-boot stacks every /live/*.squashfs).
  mkdirSync(join(work, 'settings/etc/calamares/modules'), { recursive: true });
  writeFileSync(join(work, 'settings/etc/calamares/modules/unpackfs.conf'), DEBIAN_UNPACKFS);
  tool('mksquashfs', [join(work, 'settings'), join(work, 'settings.squashfs'), '-comp', 'zstd', '-noappend', '-no-progress', '-quiet']);
  const out = join(dir, 'debian-live-installer-shape.iso');
  const map = (from: string, to: string) => ['-map', from, to];
  tool('xorriso', [
    ...['-indev', fixture, '-outdev', out],
    ...map(join(work, 'vmlinuz'), '/install/vmlinuz'),
    ...map(join(work, 'initrd.gz'), '/install/initrd.gz'),
    ...map(join(work, 'vmlinuz'), '/install/gtk/vmlinuz'),
    ...map(join(work, 'initrd.gz'), '/install/gtk/initrd.gz'),
    ...map(join(work, 'udeb_include'), '/.disk/udeb_include'),
    ...map(join(work, 'settings.squashfs'), '/live/settings.squashfs'),
    ...['-boot_image', 'any', 'replay'],
  ]);
  return out;
}

test(
  'a Debian live base with d-i and Calamares: both routes carry the layer, replayed on the host',
  { timeout: 30 * 60 * 1000 },
  async () => {
    const base = await installerShapedBase();
    const facts = await inspectIso(base);
    assert.deepEqual(
      facts.installers.map((i) => [i.kind, i.supported]),
      [
        ['d-i-live-installer', true],
        ['calamares', true],
      ],
    );
    assert.equal(facts.targets.installed.reachable, true);
    const shown = cli(['inspect', base]);
    assert.match(shown.stdout, /^installers: d-i-live-installer, calamares$/m);
    assert.match(shown.stdout, /^targets: live yes; installed yes \(d-i-live-installer and calamares\)$/m);

    const rootfs = join(dir, 'rootfs.tar');
    await writeBusyboxRootfs(rootfs, { mtime: 0 });
    const site = join(dir, 'site.cfg');
    writeFileSync(site, 'd-i netcfg/get_hostname string plant-7\nd-i preseed/late_command string echo site > /target/etc/site\n');
    const out = join(dir, 'routes.iso');
    const r = cli(
      buildArgs({
        iso: base,
        out,
        engine: 'podman',
        images: [`rootfs:${rootfs}=demo/busybox:1.0`],
        more: ['--preseed', site, '--json', '-q', '--log-file', join(dir, 'build.log')],
      }),
    );
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    const report = JSON.parse(r.stdout) as BuildReport;
    assert.equal(report.target, 'both', 'the default where the base has an installer route');
    // live-boot sorts settings.squashfs after remaster.squashfs: the layer takes a name that sorts last.
    assert.equal(report.layer?.isoPath, '/live/zremaster.squashfs');
    const log = readFileSync(join(dir, 'build.log'), 'utf8');
    assert.match(log, /d-i: 2 initrd\(s\) carry the live-installer hook \(replayed and checked\), and .*site\.cfg/);
    assert.match(log, /Calamares: unpackfs\.conf lists the layer; its copy replayed and checked/);

    // Every d-i initrd: the hook, the layer's deletions and one preseed (the medium's answers, then the site's; the
    // site's late_command replaces the medium's, as d-i would).
    const outFacts = await inspectIso(out);
    for (const path of ['/install/initrd.gz', '/install/gtk/initrd.gz']) {
      const f = outFacts.files.find((x) => x.path === path);
      assert.ok(f, path);
      const initrd = await readInitrd(out, f.lba * ISO_SECTOR, f.bytes, () => true);
      for (const name of ['usr/lib/live-installer.d/remaster', 'usr/lib/remaster/layer-changes', 'preseed.cfg'])
        assert.ok(initrd.names.has(name), `${path}: ${name}`);
      assert.match(initrd.files.get('usr/lib/live-installer.d/remaster') ?? '', /^LAYER=\$CDROM\/live\/zremaster\.squashfs$/m);
      const preseed = initrd.files.get('preseed.cfg') ?? '';
      assert.match(preseed, /^d-i debian-installer\/locale string en_US$/m);
      assert.match(preseed, /^d-i netcfg\/get_hostname string plant-7$/m);
      assert.equal(lateCommand(preseed), 'echo site > /target/etc/site');
    }
    // Calamares: the layer's unpackfs.conf lists the base image, then the layer.
    extract(out, '/live/zremaster.squashfs', join(dir, 'layer.squashfs'));
    const conf = tool('unsquashfs', ['-cat', join(dir, 'layer.squashfs'), 'etc/calamares/modules/unpackfs.conf']);
    assert.match(
      conf,
      /source: \/run\/live\/medium\/live\/filesystem\.squashfs[\s\S]*source: \/run\/live\/medium\/live\/zremaster\.squashfs/,
    );
    assert.deepEqual(mountsBelow(dir), []);
  },
);

for (const engine of ['docker', 'podman'] as const) {
  // docker's squashfs holds an ext4 image, unpacked to the disk; podman's is the store itself, copied as one file.
  const copy = engine === 'docker' ? { hook: 'unpack', fs: 'squashfs' } : { hook: 'file', fs: 'file' };
  test(
    `a ${engine} ready store on the same base: both routes put the store on the disk (sourcefs ${copy.fs} for Calamares)`,
    { timeout: 30 * 60 * 1000 },
    async () => {
      const base = await installerShapedBase();
      const rootfs = join(dir, 'rootfs.tar');
      await writeBusyboxRootfs(rootfs, { mtime: 0 });
      const out = join(dir, `ready-${engine}.iso`);
      const logFile = join(dir, `ready-${engine}.log`);
      const r = cli(
        buildArgs({
          iso: base,
          out,
          engine,
          images: [`rootfs:${rootfs}=demo/busybox:1.0`],
          more: ['--image-store', 'ready', '--json', '-q', '--log-file', logFile],
        }),
      );
      assert.equal(r.status, 0, r.stderr.slice(-3000));
      const report = JSON.parse(r.stdout) as BuildReport;
      assert.equal(report.target, 'both', 'a ready store no longer keeps a build to the live session where both routes carry it');
      const log = readFileSync(logFile, 'utf8');
      // The replays ran the hook and unpackfs' rsync, and found the store where the unit looks for it
      // (var/lib/remaster/installed-store/docker.ext4 or store.squashfs) in each scratch target: the build fails otherwise.
      assert.match(
        log,
        /d-i: 2 initrd\(s\) carry the live-installer hook, which also copies the ready store to \/var\/lib\/remaster\/installed-store \(replayed and checked\)/,
      );
      assert.match(log, /Calamares: unpackfs\.conf lists the layer and the ready store; its copy replayed and checked/);
      const outFacts = await inspectIso(out);
      const f = outFacts.files.find((x) => x.path === '/install/initrd.gz');
      assert.ok(f);
      const initrd = await readInitrd(out, f.lba * ISO_SECTOR, f.bytes, () => true);
      const hook = initrd.files.get('usr/lib/live-installer.d/remaster') ?? '';
      assert.match(hook, /^STORE=\/remaster\/store\.squashfs$/m);
      assert.match(hook, new RegExp(`^STORE_COPY=${copy.hook}$`, 'm'));
      extract(out, report.layer?.isoPath ?? '', join(dir, `ready-${engine}-layer.squashfs`));
      const conf = tool('unsquashfs', ['-cat', join(dir, `ready-${engine}-layer.squashfs`), 'etc/calamares/modules/unpackfs.conf']);
      assert.match(
        conf,
        new RegExp(
          `source: /run/live/medium/live/zremaster\\.squashfs[\\s\\S]*source: /run/live/medium/remaster/store\\.squashfs\\n\\s+sourcefs: ${copy.fs}\\n\\s+destination: /var/lib/remaster/installed-store\\n`,
        ),
      );
      assert.deepEqual(mountsBelow(dir), []);
    },
  );
}

test('refused before any work: an unreachable target, answers with nowhere to go', async () => {
  const fixture = await fixtureIso();
  const rootfs = join(dir, 'rootfs.tar');
  await writeBusyboxRootfs(rootfs, { mtime: 0 });
  const args = (more: string[]) => buildArgs({ iso: fixture, out: join(dir, 'never.iso'), images: [`rootfs:${rootfs}=a/b:1`], more });
  const installed = cli(args(['--target', 'installed']));
  assert.equal(installed.status, 2, installed.stderr);
  assert.match(
    installed.stderr,
    /^remaster: error: target installed: remaster cannot reach systems installed from .*: the base carries no installer$/m,
  );
  assert.match(installed.stderr, /^remaster: hint: use --target live/m);
  const site = join(dir, 'answers.cfg');
  writeFileSync(site, 'd-i netcfg/get_hostname string x\n');
  const preseed = cli(args(['--preseed', site]));
  assert.equal(preseed.status, 2, preseed.stderr);
  assert.match(preseed.stderr, /^remaster: error: preseed: .* carries no Debian installer \(d-i\) remaster installs through/m);
  const missing = cli(args(['--preseed', join(dir, 'nope.cfg')]));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^remaster: error: preseed: file .*nope\.cfg does not exist$/m);
});
