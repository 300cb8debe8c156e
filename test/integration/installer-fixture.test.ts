// The installer fixture has the shape of Debian's official live ISOs with d-i live-installer (live-build
// --debian-installer live): a cdrom-flavour d-i under /install, the udebs it loads and the GRUB debs it installs on
// the medium with their indexes and an unsigned Release, the .disk files d-i reads, install entries in both menus.
// Builds the fixture once (root, ~3-6 min) into the shared cache.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../../src/exec/run.js';
import { isoText } from '../helpers/iso-surgery.js';
import { parseStanzas } from '../../src/fixture/deb-index.js';
import { installerFixtureIso } from '../helpers/fixture.js';

let iso = '';
let dir = '';

before(
  async () => {
    iso = await installerFixtureIso();
    dir = await mkdtemp(join(tmpdir(), 'remaster-installer-fixture-'));
  },
  { timeout: 60 * 60_000 },
);
after(() => rm(dir, { recursive: true, force: true }));

test('.disk files tell d-i this is an installable live CD that loads live-installer', async () => {
  assert.equal(await isoText(iso, '/.disk/cd_type'), 'live\n');
  assert.equal(await isoText(iso, '/.disk/base_components'), 'main\n');
  assert.equal(await isoText(iso, '/.disk/base_installable'), '');
  assert.match(await isoText(iso, '/.disk/udeb_include'), /^live-installer$/m);
  assert.match(await isoText(iso, '/.disk/info'), /LIVE\/INSTALL/);
});

test('dists: an unsigned Release for the suite naming both Packages indexes; the pools hold what they list', async () => {
  const release = await isoText(iso, '/dists/trixie/Release');
  assert.match(release, /^Codename: trixie$/m);
  assert.match(release, /^Components: main$/m);
  assert.match(release, / main\/debian-installer\/binary-amd64\/Packages$/m);
  assert.match(release, / main\/binary-amd64\/Packages$/m);
  const udebs = parseStanzas(await isoText(iso, '/dists/trixie/main/debian-installer/binary-amd64/Packages'));
  const names = new Set(udebs.map((s) => s.Package));
  for (const p of ['live-installer', 'grub-installer', 'partman-auto', 'finish-install', 'attr-udeb']) assert.ok(names.has(p), p);
  // Module udebs for the d-i kernel, which anna only takes with Kernel-Version.
  const squash = udebs.find((s) => /^squashfs-modules-.*-di$/.test(s.Package ?? ''));
  assert.ok(squash?.['Kernel-Version'], JSON.stringify(squash));
  assert.ok(udebs.every((s) => s.Filename?.startsWith('pool-udeb/main/')));
  const debs = new Set(parseStanzas(await isoText(iso, '/dists/trixie/main/binary-amd64/Packages')).map((s) => s.Package));
  for (const p of ['grub-pc', 'grub-efi-amd64', 'grub-efi-amd64-signed', 'shim-signed']) assert.ok(debs.has(p), p);
});

test('the d-i initrd is the cdrom flavour: CD retriever in, network retriever out, CD drivers built in', async () => {
  const initrd = join(dir, 'initrd.gz');
  await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/install/initrd.gz', initrd]);
  const status = (await run('bash', ['-c', 'set -o pipefail; zcat "$1" | cpio -i --quiet --to-stdout var/lib/dpkg/status', 'sh', initrd]))
    .stdout;
  const pkgs = new Set(parseStanzas(status).map((s) => s.Package));
  for (const p of ['cdrom-detect', 'cdrom-retriever', 'load-cdrom', 'anna', 'main-menu']) assert.ok(pkgs.has(p), p);
  for (const p of ['net-retriever', 'download-installer', 'choose-mirror']) assert.ok(!pkgs.has(p), p);
  assert.ok([...pkgs].some((p) => /^isofs-modules-.*-di$/.test(p ?? '')));
});

test('both menus carry the installer entries next to the live one', async () => {
  const isolinux = await isoText(iso, '/isolinux/isolinux.cfg');
  assert.match(isolinux, /^default live$/m);
  assert.match(isolinux, /^ {2}kernel \/install\/vmlinuz$/m);
  assert.match(isolinux, /append initrd=\/install\/initrd\.gz auto=true priority=critical/);
  const grub = await isoText(iso, '/boot/grub/grub.cfg');
  assert.match(grub, /menuentry 'Start installer'/);
  assert.match(grub, /submenu 'Advanced install options \.\.\.'/);
  assert.match(grub, /linux \/install\/vmlinuz rescue\/enable=true/);
});
