// Which installers a medium carries, and which targets remaster reaches on it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectInstallers, diInitrds, targetReach } from '../../../src/iso/installers.js';

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
  const found = detectInstallers({ files: debianLive, liveRoot: true, installSources: false });
  assert.deepEqual(
    found.map((i) => [i.kind, i.supported, i.initrds]),
    [['d-i-live-installer', true, ['/install/gtk/initrd.gz', '/install/initrd.gz']]],
  );
  const viaUdebInclude = detectInstallers({
    files: debianLive.slice(0, 5),
    udebInclude: 'netcfg\nethdetect\nlive-installer\n',
    liveRoot: true,
    installSources: false,
  });
  assert.equal(viaUdebInclude[0]?.kind, 'd-i-live-installer');
  const plain = detectInstallers({ files: debianLive.slice(0, 5), liveRoot: true, installSources: false });
  assert.deepEqual(
    plain.map((i) => [i.kind, i.supported]),
    [['d-i', false]],
  );
  assert.deepEqual(targetReach(true, plain).installed.reachable, false);
});

test('Calamares is reached through its unpackfs.conf; subiquity is named, not reached; no installer: live only', () => {
  const calamares = detectInstallers({
    files: [file('/live/filesystem.squashfs')],
    unpackfs: 'unpack: []',
    liveRoot: true,
    installSources: false,
  });
  assert.deepEqual(
    calamares.map((i) => [i.kind, i.supported]),
    [['calamares', true]],
  );
  assert.deepEqual(targetReach(true, calamares), {
    live: { reachable: true, why: 'the live root is stacked with the new layer' },
    installed: { reachable: true, why: 'calamares' },
  });
  const ubuntu = detectInstallers({ files: [file('/casper/minimal.squashfs')], liveRoot: true, installSources: true });
  assert.deepEqual(
    ubuntu.map((i) => [i.kind, i.supported]),
    [['subiquity', false]],
  );
  assert.match(targetReach(true, ubuntu).installed.why, /^subiquity: subiquity installs the install-sources\.yaml chain/);
  assert.deepEqual(targetReach(true, []).installed, { reachable: false, why: 'the base carries no installer' });
});

test('a netinst or DVD image: d-i without a live root, installing from the pool, is reached (installed only)', () => {
  const netinst = ['/install.amd/vmlinuz', '/install.amd/initrd.gz', '/install.amd/gtk/vmlinuz', '/install.amd/gtk/initrd.gz'].map(file);
  const found = detectInstallers({ files: netinst, liveRoot: false, installSources: false, pool: true });
  assert.deepEqual(
    found.map((i) => [i.kind, i.supported, i.initrds]),
    [['d-i', true, ['/install.amd/gtk/initrd.gz', '/install.amd/initrd.gz']]],
  );
  assert.match(found[0]?.route ?? '', /in-target dpkg -i/);
  const reach = targetReach(false, found);
  assert.equal(reach.live.reachable, false);
  assert.equal(reach.installed.reachable, true);
  assert.deepEqual(detectInstallers({ files: netinst, liveRoot: false, installSources: false }), [], 'no pool: no route');
});
