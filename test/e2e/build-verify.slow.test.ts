// End to end, real tools only: for each engine, build the fixture with two images from different sources
// (a rootfs tarball and a registry on loopback) and one app unit, boot the exact output under SeaBIOS and
// OVMF, and check from inside the guest that the engine holds both images with the IDs in the manifest and
// that the app answers on its port.
import assert from 'node:assert/strict';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BuildReport } from '../../src/build.js';
import { defaultCacheDir } from '../../src/config/paths.js';
import { Workspace } from '../../src/pipeline/workspace.js';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { scanRootfsTar, writeRootfsImage } from '../../src/images/docker-archive.js';
import { cli, fixtureIso, mountsBelow } from '../helpers/fixture.js';
import { type Registry, skopeo, startRegistry } from '../helpers/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-e2e-'));
const rootfs = join(dir, 'busybox.tar');
const built: Record<string, string> = {};
let registry: Registry;

before(async () => {
  await writeBusyboxRootfs(rootfs, { mtime: 0, index: 'hello from the remaster e2e test\n' });
  const archive = join(dir, 'tools.tar');
  await writeRootfsImage(
    { rootfsTar: rootfs, ref: 'acme/tools:2', architecture: 'amd64', created: 0 },
    await scanRootfsTar(rootfs),
    createWriteStream(archive),
  );
  registry = await startRegistry(join(dir, 'registry'));
  skopeo(['--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${registry.host}/acme/tools:2`]);
});

after(() => registry?.stop());

const cases = [
  { name: 'docker', engine: 'docker', verify: 'all', media: 'cdrom', imageStore: 'load' },
  // Secure Boot enforced (OVMF with Microsoft's keys): the base's signed shim, GRUB and kernel still boot the result.
  { name: 'podman', engine: 'podman', verify: 'bios,uefi-sb', media: 'cdrom', imageStore: 'load' },
  // The ready store also proves the USB-stick attachment (the hybrid image as a disk).
  { name: 'podman-ready', engine: 'podman', verify: 'bios', media: 'all', imageStore: 'ready' },
  // docker's ready store: its data root on the medium, a device-mapper snapshot over it at boot; the app runs on it.
  { name: 'docker-ready', engine: 'docker', verify: 'bios', media: 'cdrom', imageStore: 'ready' },
] as const;

for (const { name, engine, verify, media, imageStore } of cases) {
  test(`${name}: two sources and an app unit; boot (${verify}); images and app checked inside`, { timeout: 40 * 60 * 1000 }, async () => {
    const base = await fixtureIso();
    const out = join(dir, `${name}.iso`);
    const config = join(dir, `${name}.yml`);
    writeFileSync(
      config,
      JSON.stringify({
        iso: base,
        out,
        engine,
        verify,
        verifyMedia: media,
        imageStore,
        // Menu edits must boot for real: isolinux under SeaBIOS, GRUB under OVMF.
        ...(name === 'docker' ? { kernelArgs: ['remaster.e2e=menu-edit'] } : {}),
        images: [
          {
            source: `rootfs:${rootfs}`,
            ref: 'demo/web:1.0',
            cmd: ['/bin/sh'],
            run: { name: 'web', command: ['httpd', '-f', '-p', '8080', '-h', '/srv/www'], network: 'host', checkPort: 8080 },
          },
          { source: `docker://${registry.host}/acme/tools:2`, tlsVerify: false },
        ],
      }),
    );
    const r = cli(['build', '-c', config, '--json']);
    assert.equal(r.status, 0, r.stderr.slice(-5000));
    const report = JSON.parse(r.stdout) as BuildReport;
    assert.equal(report.ok, true);
    assert.equal(report.mode, 'layer');
    assert.equal(report.output?.path, out);
    assert.match(readFileSync(join(dir, 'SHA256SUMS'), 'utf8'), new RegExp(`^${report.output?.sha256}  ${name}\\.iso$`, 'm'));
    assert.ok(existsSync(out));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('remaster-partial') || f.endsWith('.unverified')),
      [],
    );
    const images = report.images?.images ?? [];
    assert.deepEqual(
      images.map((i) => i.source.kind),
      ['rootfs', 'docker'],
    );
    assert.deepEqual(
      report.verify.map((v) => `${v.firmware}/${v.media}`),
      media === 'all'
        ? ['bios/cdrom', 'bios/usb']
        : verify
            .replace('all', 'bios,uefi')
            .split(',')
            .map((f) => `${f}/cdrom`),
    );
    // Ready store: the images travel as a store on the medium, not as archives in the root layer.
    assert.equal(
      report.stages.some((st) => st.stage === 'Fill the ready image store' && !st.skipped),
      imageStore === 'ready',
    );
    for (const v of report.verify) {
      assert.equal(v.ok, true, `${v.firmware}: ${v.diagnosis}`);
      assert.equal(v.loaderResult, 'success');
      for (const img of images) {
        const seen = v.images.find((i) => i.ref.endsWith(img.refs[0] ?? '?'));
        assert.equal(seen?.id, img.imageId, `${v.firmware}: guest lists ${JSON.stringify(v.images)}`);
      }
      assert.deepEqual(
        v.apps.map((a) => [a.name, a.state, a.probe]),
        [['web', 'active', 'http:200']],
      );
      assert.ok((v.imagesUsableSeconds ?? 0) > 0, 'the guest says when the loader finished');
      // A ready store: the loader finds every image present and loads none.
      assert.deepEqual(
        v.loaderCounts,
        imageStore === 'ready' ? { total: 2, loaded: 0, present: 2, failed: 0 } : { total: 2, loaded: 2, present: 0, failed: 0 },
      );
      if (name === 'docker-ready') assert.equal(v.storeFs, 'ext4', 'docker runs on the ready store (ext4 on the snapshot), not a tmpfs');
      assert.equal(v.guestFirmware, { bios: 'bios', uefi: 'uefi secure-boot=off', 'uefi-sb': 'uefi secure-boot=on' }[v.firmware]);
      if (name === 'docker') assert.match(v.kernelCmdline ?? '', /(^| )remaster\.e2e=menu-edit( |$)/, `${v.firmware}: ${v.kernelCmdline}`);
      process.stderr.write(
        `e2e ${name}/${v.firmware}/${v.media}/${v.accel}: images usable ${v.imagesUsableSeconds} s after kernel start; report ${v.secondsToReport?.toFixed(1)} s after QEMU start\n`,
      );
    }
    process.stderr.write(`e2e ${name}: build ${report.seconds} s, output ${((report.output?.bytes ?? 0) / 1048576).toFixed(1)} MiB\n`);
    // This build's own workspace: other builds may run on the machine at the same time.
    assert.deepEqual(mountsBelow(Workspace.forOutput(defaultCacheDir(), out).root), []);
    built[name] = out;
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
    'demo/web:1.0',
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
