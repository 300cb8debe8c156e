// Registry credentials never land anywhere a build leaves things: a build from a registry with htpasswd auth,
// then the password and the base64 user:password token are looked for in the ISO (raw bytes, and the files
// of its new layer with every image archive decompressed), the work folder, the log, the report, and the
// output folder (SHA256SUMS). A build that fails after the images stage keeps its work folder for resuming:
// that folder must not hold them either. The next run resumes it (the registry image is not pulled again).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { scanRootfsTar, writeRootfsImage } from '../../src/images/docker-archive.js';
import { cli, fixtureIso, mountsBelow } from '../helpers/fixture.js';
import { type Registry, skopeo, startRegistry } from '../helpers/registry.js';

const USER = 'ci-robot';
const PASSWORD = `pw-${process.pid}-Xq7!t9#secret`;
const TOKEN = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
const NEEDLES = [PASSWORD, TOKEN];
const ENV = { REMASTER_REGISTRY_USER: USER, REMASTER_REGISTRY_PASSWORD: PASSWORD };

let registry: Registry | undefined;
after(() => registry?.stop());

/** Files under dir (recursively) whose bytes hold a needle: grep -a, so binary files count too. */
function holders(dir: string): string[] {
  const found: string[] = [];
  for (const needle of NEEDLES) {
    const r = spawnSync('grep', ['-r', '-a', '-l', '-F', '--', needle, dir], { encoding: 'utf8' });
    assert.ok(r.status === 0 || r.status === 1, `grep failed on ${dir}: ${r.stderr}`);
    found.push(...r.stdout.split('\n').filter(Boolean));
  }
  return found;
}

function fileHolds(file: string): boolean {
  return NEEDLES.some((n) => spawnSync('grep', ['-a', '-q', '-F', '--', n, file]).status === 0);
}

test(
  'no registry credential in the ISO, its layer, the work folder, the log, the report or beside the ISO',
  { timeout: 30 * 60 * 1000 },
  async () => {
    const base = await fixtureIso();
    const dir = mkdtempSync(join(tmpdir(), 'remaster-secrets-'));
    const rootfs = join(dir, 'rootfs.tar');
    await writeBusyboxRootfs(rootfs);
    const archive = join(dir, 'busybox-docker.tar');
    await writeRootfsImage(
      { rootfsTar: rootfs, ref: 'team/busybox:2', architecture: 'amd64', created: 0 },
      await scanRootfsTar(rootfs),
      createWriteStream(archive),
    );
    registry = await startRegistry(join(dir, 'registry'), { user: USER, password: PASSWORD });
    skopeo([
      '--dest-tls-verify=false',
      '--dest-creds',
      `${USER}:${PASSWORD}`,
      `docker-archive:${archive}`,
      `docker://${registry.host}/team/busybox:2`,
    ]);

    const outDir = join(dir, 'out');
    mkdirSync(outDir);
    const out = join(outDir, 'app.iso');
    const work = join(dir, 'work');
    const log = join(dir, 'build.log');
    const config = join(dir, 'remaster.json');
    writeFileSync(
      config,
      JSON.stringify({ images: [{ source: `docker://${registry.host}/team/busybox:2`, ref: 'team/busybox:2', tlsVerify: false }] }),
    );
    const args = ['build', '-c', config, '--iso', base, '--out', out, '--engine', 'podman', '--verify', 'none', '--work-dir', work];

    // 1. Fails in the engine stage (an offline package folder with no packages), after the registry pull.
    // The search itself finds what it looks for (in text and in binary files).
    const control = join(dir, 'control');
    mkdirSync(control);
    writeFileSync(join(control, 'bin'), Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.from(TOKEN), Buffer.from([0])]));
    assert.deepEqual(holders(control), [join(control, 'bin')]);
    assert.ok(fileHolds(join(control, 'bin')));

    const noDebs = join(dir, 'no-debs');
    mkdirSync(noDebs);
    const failed = cli([...args, '--packages', noDebs, '--log-file', log, '--json'], ENV);
    assert.equal(failed.status, 2, failed.stderr.slice(-2000));
    assert.match(failed.stderr, /holds no \.deb files/);
    assert.ok(
      readdirSync(join(work, 'payload', 'images')).some((f) => f.endsWith('.tar.zst')),
      'the failed build keeps the pulled image for the next run',
    );
    assert.deepEqual(holders(work), [], 'work folder of the failed build');
    assert.deepEqual(mountsBelow(dir), []);

    // 2. The same build, fixed and verified by a boot: the pulled image is reused; the work is kept for the grep.
    const evidence = join(dir, 'evidence');
    const r = cli([...args, '--log-file', log, '--json', '--keep-work', '--verify', 'bios', '--evidence-dir', evidence], ENV);
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    const report = JSON.parse(r.stdout) as { ok: boolean; stages: { stage: string; skipped?: string }[] };
    assert.equal(report.ok, true);
    assert.match(report.stages.find((s) => s.stage === 'Prepare image archives')?.skipped ?? '', /unchanged since the last run/);

    assert.equal(fileHolds(out), false, 'ISO bytes');
    assert.deepEqual(holders(outDir), [], 'output folder (ISO, SHA256SUMS)');
    assert.deepEqual(holders(work), [], 'work folder');
    assert.equal(fileHolds(log), false, 'log file');
    // Verification evidence: the guest's console log, its report, screenshots, verify.json, junit.xml.
    assert.match(readFileSync(join(evidence, 'bios-cdrom', 'report.txt'), 'utf8'), /^image \S*team\/busybox:2 /m);
    assert.ok(statSync(join(evidence, 'bios-cdrom', 'serial.log')).size > 10_000);
    assert.deepEqual(holders(evidence), [], 'verification evidence');
    assert.ok(
      !NEEDLES.some((n) => r.stdout.includes(n) || r.stderr.includes(n) || failed.stdout.includes(n) || failed.stderr.includes(n)),
      'report and messages',
    );

    // The new layer's files, with the image archives decompressed (their layers are plain tars).
    const layer = join(dir, 'layer.squashfs');
    execFileSync('xorriso', ['-osirrox', 'on', '-indev', out, '-extract', '/live/remaster.squashfs', layer], { stdio: 'ignore' });
    const tree = join(dir, 'layer');
    execFileSync('unsquashfs', ['-q', '-no-progress', '-d', tree, layer], { stdio: 'ignore' });
    const imagesDir = join(tree, 'var/lib/remaster/images');
    const archives = readdirSync(imagesDir).filter((f) => f.endsWith('.tar.zst'));
    assert.equal(archives.length, 1);
    for (const a of archives) {
      const tar = join(dir, a.replace(/\.zst$/, ''));
      execFileSync('zstd', ['-q', '-d', '--long=31', '-o', tar, join(imagesDir, a)]);
      assert.ok(statSync(tar).size > 1024 * 1024);
      assert.equal(fileHolds(tar), false, `image archive ${a}, decompressed`);
    }
    assert.deepEqual(holders(tree), [], 'files of the new layer');
  },
);
