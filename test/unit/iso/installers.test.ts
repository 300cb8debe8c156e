// Which installers a medium carries, and which targets remaster reaches on it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectInstallers, diInitrds, targetReach } from '../../../src/iso/installers.js';
import { parseInstallSources } from '../../../src/iso/install-sources.js';

const file = (path: string) => ({ path, lba: 0, bytes: 1 });
const debianLive = [
  '/live/filesystem.squashfs',
  '/install/vmlinuz',
  '/install/initrd.gz',
  '/install/gtk/vmlinuz',
  '/install/gtk/initrd.gz',
  '/install/gtk/extra.gz',
  '/pool-udeb/main/l/live-installer/live-installer_58_amd64.udeb',
].map(file);

test('d-i initrds: each initrd.gz with a kernel beside it', () => {
  assert.deepEqual(diInitrds(debianLive), ['/install/gtk/initrd.gz', '/install/initrd.gz']);
  assert.deepEqual(diInitrds([file('/install.amd/initrd.gz')]), [], 'no kernel beside it');
});

test("a Debian live ISO's d-i with live-installer is reached; without it, it is named and not reached", () => {
  const found = detectInstallers({ files: debianLive, liveRoot: true });
  assert.deepEqual(
    found.map((i) => [i.kind, i.supported, i.initrds]),
    [['d-i-live-installer', true, ['/install/gtk/initrd.gz', '/install/initrd.gz']]],
  );
  const viaUdebInclude = detectInstallers({
    files: debianLive.slice(0, 5),
    udebInclude: 'netcfg\nethdetect\nlive-installer\n',
    liveRoot: true,
  });
  assert.equal(viaUdebInclude[0]?.kind, 'd-i-live-installer');
  const plain = detectInstallers({ files: debianLive.slice(0, 5), liveRoot: true });
  assert.deepEqual(
    plain.map((i) => [i.kind, i.supported]),
    [['d-i', false]],
  );
  assert.deepEqual(targetReach(true, plain).installed.reachable, false);
});

test('Calamares is reached through its unpackfs.conf; no installer: live only', () => {
  const calamares = detectInstallers({
    files: [file('/live/filesystem.squashfs')],
    unpackfs: 'unpack: []',
    liveRoot: true,
  });
  assert.deepEqual(
    calamares.map((i) => [i.kind, i.supported]),
    [['calamares', true]],
  );
  assert.deepEqual(targetReach(true, calamares), {
    live: { reachable: true, why: 'the live root is stacked with the new layer' },
    installed: { reachable: true, why: 'calamares' },
  });
  assert.deepEqual(targetReach(true, []).installed, { reachable: false, why: 'the base carries no installer' });
});

test('a netinst or DVD image: d-i without a live root, installing from the pool, is reached (installed only)', () => {
  const netinst = ['/install.amd/vmlinuz', '/install.amd/initrd.gz', '/install.amd/gtk/vmlinuz', '/install.amd/gtk/initrd.gz'].map(file);
  const found = detectInstallers({ files: netinst, liveRoot: false, pool: true });
  assert.deepEqual(
    found.map((i) => [i.kind, i.supported, i.initrds]),
    [['d-i', true, ['/install.amd/gtk/initrd.gz', '/install.amd/initrd.gz']]],
  );
  assert.match(found[0]?.route ?? '', /in-target dpkg -i/);
  const reach = targetReach(false, found);
  assert.equal(reach.live.reachable, false);
  assert.equal(reach.installed.reachable, true);
  assert.deepEqual(detectInstallers({ files: netinst, liveRoot: false }), [], 'no pool: no route');
});

const server = [
  '- default: false',
  '  id: ubuntu-server-minimal',
  '  path: ubuntu-server-minimal.squashfs',
  '  size: 100',
  '  type: fsimage',
  '- default: true',
  '  id: ubuntu-server',
  '  path: ubuntu-server-minimal.ubuntu-server.squashfs',
  '  size: 200',
  '  type: fsimage-layered',
  '',
].join('\n');
const serverFiles = ['ubuntu-server-minimal', 'ubuntu-server-minimal.ubuntu-server', 'ubuntu-server-minimal.ubuntu-server.installer'].map(
  (n) => file(`/casper/${n}.squashfs`),
);

test('subiquity is reached when every install source chain is complete; a missing member or unknown format is an unknown layout', () => {
  const ok = detectInstallers({ files: serverFiles, liveRoot: true, installSources: parseInstallSources(server) });
  assert.deepEqual(
    ok.map((i) => [i.kind, i.supported, i.sources?.map((s) => s.id)]),
    [['subiquity', true, ['ubuntu-server-minimal', 'ubuntu-server']]],
  );
  const broken = detectInstallers({ files: serverFiles.slice(0, 1), liveRoot: true, installSources: parseInstallSources(server) });
  assert.equal(broken[0]?.supported, false);
  assert.equal(broken[0]?.unknownLayout, true);
  assert.match(
    broken[0]?.route ?? '',
    /install source ubuntu-server \(ubuntu-server-minimal\.ubuntu-server\.squashfs\): curtin mounts \/casper\/ubuntu-server-minimal\.ubuntu-server\.squashfs, which the ISO lacks/,
  );
  const v2 = detectInstallers({ files: serverFiles, liveRoot: true, installSources: parseInstallSources('version: 2\nsources: []\n') });
  assert.deepEqual([v2[0]?.supported, v2[0]?.unknownLayout], [false, true]);
  assert.match(v2[0]?.route ?? '', /a mapping \(version: 2\), not the list of sources/);
  const langs = detectInstallers({
    files: serverFiles,
    liveRoot: true,
    installSources: parseInstallSources(
      server.replace('  type: fsimage-layered', '  type: fsimage-layered\n  preinstalled_langs: [en, de]'),
    ),
  });
  assert.deepEqual([langs[0]?.supported, langs[0]?.unknownLayout], [false, undefined]);
  assert.match(langs[0]?.route ?? '', /^install source ubuntu-server installs a language layer on top \(preinstalled_langs/);
});

test('Ubiquity is reached through the seeds the boot entries load; without one, it is named and not reached', () => {
  const files = ['/casper/filesystem.squashfs', '/preseed/ubuntu.seed', '/preseed/cli.seed'].map(file);
  const found = detectInstallers({ files, liveRoot: true, menuSeeds: ['/preseed/ubuntu.seed', '/preseed/missing.seed'] });
  assert.deepEqual(
    found.map((i) => [i.kind, i.supported, i.seeds]),
    [['ubiquity', true, ['/preseed/ubuntu.seed']]],
  );
  assert.deepEqual(
    detectInstallers({ files, liveRoot: true }).map((i) => [i.kind, i.supported]),
    [['ubiquity', false]],
  );
});
