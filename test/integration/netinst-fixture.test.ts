// The netinst fixture has the shape of Debian's netinst CD: no live system, a cdrom-flavour d-i under /install whose
// initrd carries the one answer an unsigned medium needs, the signed shim/GRUB chain for UEFI, the udebs d-i loads and
// the .debs it installs with their indexes and an unsigned Release. d-i's bootstrap-base runs debootstrap against the
// medium (file:///cdrom, no signature check): the same run from the loop-mounted ISO proves the pool is complete for the
// base system. Builds the fixture once (root, ~10 min) into the shared cache; the debootstrap takes a few minutes.
import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../../src/exec/run.js';
import { isoText } from '../helpers/iso-surgery.js';
import { parseStanzas } from '../../src/fixture/deb-index.js';
import { removeWorkDir } from '../../src/fixture/debian-live.js';
import { MountStack } from '../../src/rootfs/mounts.js';
import { netinstFixtureIso } from '../helpers/fixture.js';

let iso = '';
let dir = '';

before(
  async () => {
    iso = await netinstFixtureIso();
    dir = await mkdtemp(join(tmpdir(), 'remaster-netinst-fixture-'));
  },
  { timeout: 60 * 60_000 },
);
after(() => rm(dir, { recursive: true, force: true }));

async function isoPaths(): Promise<Set<string>> {
  const r = await run('xorriso', ['-indev', iso, '-find', '/', '-exec', 'lsdl']);
  return new Set([...r.stdout.matchAll(/'(\/[^']*)'/g)].map((m) => m[1] as string));
}

test('netinst shape: d-i under /install, no live system, the signed UEFI chain, the pools', async () => {
  const paths = await isoPaths();
  for (const p of ['/install/vmlinuz', '/install/initrd.gz', '/EFI/boot/bootx64.efi', '/EFI/boot/grubx64.efi', '/boot/grub/efi.img']) {
    assert.ok(paths.has(p), p);
  }
  assert.ok(![...paths].some((p) => p === '/live' || p.startsWith('/live/')), 'no /live');
  assert.ok([...paths].some((p) => p.startsWith('/pool/main/') && p.endsWith('.deb')));
  assert.ok([...paths].some((p) => p.startsWith('/pool-udeb/main/') && p.endsWith('.udeb')));
});

test('.disk files tell d-i this is a netinst that installs its base system from the CD', async () => {
  assert.equal(await isoText(iso, '/.disk/cd_type'), 'not_complete\n');
  assert.equal(await isoText(iso, '/.disk/base_components'), 'main\n');
  assert.equal(await isoText(iso, '/.disk/base_installable'), '');
  assert.match(await isoText(iso, '/.disk/info'), /^Debian GNU\/Linux 13 "Trixie" - remaster fixture amd64 NETINST \d{8}-\d\d:\d\d$/);
  const paths = await isoPaths();
  assert.ok(!paths.has('/.disk/udeb_include'));
  assert.ok([...paths].some((p) => /^\/\.disk\/id\/[0-9a-f]{16}$/.test(p)));
});

test('the d-i initrd carries only the unsigned-medium answer, and no live-installer anywhere', async () => {
  const initrd = join(dir, 'initrd.gz');
  await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/install/initrd.gz', initrd]);
  const preseed = (await run('bash', ['-c', 'set -o pipefail; zcat "$1" | cpio -i --quiet --to-stdout preseed.cfg', 'sh', initrd])).stdout;
  const answers = preseed.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  assert.deepEqual(answers, ['d-i debian-installer/allow_unauthenticated boolean true']);
  const udebs = new Set(
    parseStanzas(await isoText(iso, '/dists/trixie/main/debian-installer/binary-amd64/Packages')).map((s) => s.Package),
  );
  for (const p of ['bootstrap-base', 'debootstrap-udeb', 'base-installer', 'grub-installer', 'apt-cdrom-setup', 'partman-auto']) {
    assert.ok(udebs.has(p), p);
  }
  assert.ok(!udebs.has('live-installer'));
});

test('dists: an unsigned Release; the .deb index has the base set, the kernel, GRUB for BIOS and UEFI, what d-i adds', async () => {
  const release = await isoText(iso, '/dists/trixie/Release');
  assert.match(release, /^Codename: trixie$/m);
  assert.match(release, / main\/binary-amd64\/Packages$/m);
  assert.match(release, / main\/binary-amd64\/Packages\.gz$/m);
  const paths = await isoPaths();
  assert.ok(!paths.has('/dists/trixie/Release.gpg') && !paths.has('/dists/trixie/InRelease'));
  const debs = parseStanzas(await isoText(iso, '/dists/trixie/main/binary-amd64/Packages'));
  const names = new Set(debs.map((s) => s.Package));
  for (const p of [
    'apt',
    'base-files',
    'dpkg',
    'systemd-sysv',
    'linux-image-amd64',
    'initramfs-tools',
    'grub-pc',
    'grub-efi-amd64',
    'grub-efi-amd64-signed',
    'shim-signed',
    'locales',
    'console-setup',
    'keyboard-configuration',
    'tasksel',
    'os-prober',
  ]) {
    assert.ok(names.has(p), p);
  }
  assert.ok(debs.some((s) => s.Priority === 'important'));
  assert.ok(debs.every((s) => s.Filename?.startsWith('pool/main/')));
});

test('both menus start the installer, "Install" by default, and nothing live', async () => {
  const isolinux = await isoText(iso, '/isolinux/isolinux.cfg');
  assert.match(isolinux, /^default install$/m);
  assert.doesNotMatch(isolinux, /\/live\//);
  assert.match(isolinux, /^label install\n {2}menu label Install\n {2}menu default\n {2}kernel \/install\/vmlinuz$/m);
  const grub = await isoText(iso, '/boot/grub/grub.cfg');
  assert.match(grub, /^set default=0\n[^]*?^menuentry 'Install' --id install \{/m);
  assert.doesNotMatch(grub, /\/live\//);
  assert.match(grub, /linux \/install\/vmlinuz rescue\/enable=true/);
});

test(
  'debootstrap installs the base system from the medium alone (what bootstrap-base does)',
  { skip: process.getuid?.() !== 0 ? 'needs root (loop mount, debootstrap)' : false },
  async (t) => {
    const mnt = join(dir, 'cdrom');
    const target = join(dir, 'target');
    await mkdir(mnt);
    const mounts = new MountStack();
    try {
      try {
        await mounts.mount({ source: iso, target: mnt, type: 'iso9660', options: ['loop', 'ro'] });
      } catch (e) {
        // A kernel without iso9660 (some containers): the medium's whole tree, as the mount would show it.
        t.diagnostic(`loop mount failed (${(e as Error).message.split('\n')[0]}): debootstrap from the extracted ISO instead`);
        await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', mnt]);
      }
      await run('debootstrap', ['--no-check-gpg', 'trixie', target, `file://${mnt}`], {
        env: { LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' },
        timeoutMs: 30 * 60_000,
      });
      await access(join(target, 'usr', 'bin', 'apt-get'));
      const status = parseStanzas(await readFile(join(target, 'var', 'lib', 'dpkg', 'status'), 'utf8'));
      assert.ok(status.every((s) => s.Status === 'install ok installed'));
      // The important priority came from the CD too (debootstrap's default variant installs it).
      assert.ok(status.some((s) => s.Package === 'systemd-sysv'));
    } finally {
      await mounts.unwind();
      await removeWorkDir(target);
    }
  },
);
