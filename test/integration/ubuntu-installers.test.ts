// Ubuntu installed systems on the casper fixtures: subiquity's install sources get a layer over their own chain
// (server, and the desktop's variations), checked here the way curtin reads them, independently of remaster's own
// check; Ubiquity's success_command on the single-squashfs desktop; refusals before any work.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { buildArgs } from '../helpers/build-args.js';
import { busyboxImageArg, casperIso, cli, mountsBelow } from '../helpers/fixture.js';
import { extract, isoText, mapOver, tool } from '../helpers/iso-surgery.js';

const T = { timeout: 30 * 60 * 1000 };
async function build(base: string, out: string, ...extra: string[]) {
  return cli(buildArgs({ iso: base, out, engine: 'podman', images: [await busyboxImageArg()], more: ['--json', ...extra] }));
}

/** curtin's chain for a source path: every dot-prefix of its basename, shortest first (extract.py, _get_image_stack). */
function curtinChain(path: string): string[] {
  const parts = path.replace(/\.squashfs$/, '').split('.');
  return parts.map((_, i) => `${parts.slice(0, i + 1).join('.')}.squashfs`);
}

/** One squashfs member of an ISO's /casper, extracted once, with its listing. */
class Members {
  private readonly listings = new Map<string, Set<string>>();
  constructor(
    private readonly iso: string,
    private readonly dir: string,
  ) {}
  file(name: string): string {
    const to = join(this.dir, name);
    if (!this.listings.has(name)) {
      extract(this.iso, `/casper/${name}`, to);
      const names = tool('unsquashfs', ['-l', '-n', '-d', '', to])
        .split('\n')
        .map((l) => l.replace(/^\//, ''));
      this.listings.set(name, new Set(names));
    }
    return to;
  }
  has(name: string, path: string): boolean {
    this.file(name);
    return this.listings.get(name)?.has(path) ?? false;
  }
  /** What the overlay of chain (longest name on top) shows at path: the top-most member's copy. */
  read(chain: readonly string[], path: string): string | undefined {
    const top = [...chain].reverse().find((m) => this.has(m, path));
    return top ? tool('unsquashfs', ['-cat', this.file(top), path]) : undefined;
  }
}

/** The checks curtin's copy of chain must pass: one engine install, dpkg knows it, units enabled, images there. */
function assertInstalled(m: Members, chain: readonly string[], what: string, ownStanza?: string) {
  const engines = chain.filter((c) => m.has(c, 'usr/bin/podman'));
  assert.equal(engines.length, 1, `${what}: exactly one layer of ${chain.join(' + ')} installs podman (${engines.join(', ')})`);
  const status = m.read(chain, 'var/lib/dpkg/status') ?? '';
  assert.match(status, /^Package: podman\nStatus: install ok installed$/m, `${what}: dpkg status lists podman`);
  if (ownStanza) assert.match(status, new RegExp(`^Package: ${ownStanza}$`, 'm'), `${what}: the chain's own dpkg status is kept`);
  for (const p of ['etc/systemd/system/multi-user.target.wants/remaster-loader.service', 'var/lib/remaster/images.json']) {
    assert.ok(
      chain.some((c) => m.has(c, p)),
      `${what}: ${p}`,
    );
  }
  const manifest = JSON.parse(m.read(chain, 'var/lib/remaster/images.json') ?? '{}') as { images: { file: string }[] };
  assert.equal(manifest.images.length, 1);
  assert.ok(
    chain.some((c) => m.has(c, `var/lib/remaster/images/${manifest.images[0]?.file}`)),
    `${what}: the archive`,
  );
}

/** Each file's first block on the ISO (xorriso's report_lba). */
function lbas(iso: string): Map<string, number> {
  const out = tool('xorriso', ['-indev', iso, '-find', '/casper', '-name', '*.squashfs', '-exec', 'report_lba', '--']);
  const m = new Map<string, number>();
  for (const l of out.split('\n')) {
    const r = /^File data lba:\s*\d+\s*,\s*(\d+)\s*,.*'(\/casper\/[^']+)'/.exec(l);
    if (r?.[1] && r[2]) m.set(r[2], Number(r[1]));
  }
  return m;
}

const AUTOINSTALL = `autoinstall:
  version: 1
  identity: {hostname: oem-server, username: oem, password: "$6$x$y"}
  late-commands:
    - echo oem-own > /target/root/oem
`;

interface Report {
  target: string;
  installSources?: { from: string; to: string; size: number }[];
}

test(
  '24.04 server, target both: each install source gets a layer over its own chain, install-sources.yaml names it; the autoinstall embedded',
  T,
  async () => {
    const base = await casperIso('server');
    const dir = mkdtempSync(join(tmpdir(), 'remaster-ubuntu-server-'));
    const out = join(dir, 'server.iso');
    const auto = join(dir, 'autoinstall.yaml');
    writeFileSync(auto, AUTOINSTALL);
    const r = await build(base, out, '--autoinstall', auto, '--autoinstall-unattended');
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /install-sources\.yaml unchanged/);
    assert.match(r.stderr, /2 install source\(s\), 2 chain\(s\) mounted as curtin does and checked/);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.target, 'both');
    assert.deepEqual(
      report.installSources?.map((s) => [s.from, s.to]),
      [
        ['ubuntu-server-minimal.ubuntu-server.squashfs', 'ubuntu-server-minimal.ubuntu-server.remaster.squashfs'],
        ['ubuntu-server-minimal.squashfs', 'ubuntu-server-minimal.remaster.squashfs'],
      ],
    );

    const before = parseYaml(await isoText(base, '/casper/install-sources.yaml')) as Record<string, unknown>[];
    const after = parseYaml(await isoText(out, '/casper/install-sources.yaml')) as Record<string, unknown>[];
    assert.deepEqual(
      after.map((s) => [s.id, s.path, s.type]),
      [
        ['ubuntu-server-minimal', 'ubuntu-server-minimal.remaster.squashfs', 'fsimage-layered'],
        ['ubuntu-server', 'ubuntu-server-minimal.ubuntu-server.remaster.squashfs', 'fsimage-layered'],
      ],
    );
    for (const [i, s] of after.entries()) {
      assert.ok(Number(s.size) > Number(before[i]?.size), `${String(s.id)}: size grows by the engine and images`);
      // Everything else in the entry is kept as it was.
      assert.deepEqual({ ...s, path: 0, size: 0, type: 0 }, { ...before[i], path: 0, size: 0, type: 0 });
    }

    // The user's autoinstall, as written (its late-commands kept, none added: the sources carry the payload), where
    // 24.04 reads it, plus the NoCloud seed and the kernel arguments of an unattended install on every live entry.
    assert.equal(await isoText(out, '/autoinstall.yaml'), AUTOINSTALL);
    assert.deepEqual(parseYaml(await isoText(out, '/nocloud/user-data')), parseYaml(AUTOINSTALL));
    assert.match(await isoText(out, '/nocloud/user-data'), /^#cloud-config\n/);
    assert.match(await isoText(out, '/nocloud/meta-data'), /^instance-id: /);
    const grub = await isoText(out, '/boot/grub/grub.cfg');
    const linux = grub.split('\n').filter((l) => /^\s*linux\s/.test(l));
    assert.ok(linux.length > 0);
    for (const l of linux) assert.match(l, / autoinstall ds=nocloud\\;s=\/cdrom\/nocloud\/ ---/);
    const sums = await isoText(out, '/md5sum.txt');
    for (const f of ['./autoinstall.yaml', './nocloud/user-data', './casper/install-sources.yaml'])
      assert.match(sums, new RegExp(`  ${f.replaceAll('.', '\\.')}\n`));

    const m = new Members(out, dir);
    assertInstalled(m, curtinChain('ubuntu-server-minimal.ubuntu-server.remaster.squashfs'), 'ubuntu-server', 'fixture-server');
    assertInstalled(m, curtinChain('ubuntu-server-minimal.remaster.squashfs'), 'ubuntu-server-minimal');
    // The minimal install does not get the server layer's packages through our layer.
    assert.doesNotMatch(
      m.read(curtinChain('ubuntu-server-minimal.remaster.squashfs'), 'var/lib/dpkg/status') ?? '',
      /^Package: fixture-server$/m,
    );
    // The live session (the installer's own environment) keeps its layer on the live chain: one engine there too.
    const live = curtinChain('ubuntu-server-minimal.ubuntu-server.installer.generic.remaster.squashfs');
    assertInstalled(m, live, 'live chain', 'fixture-installer');

    // The same host-side check, offered to users: verify --install on a casper base, its limits said.
    const v = cli(['verify', out, '--install', '--engine', 'podman', '--expect', 'demo/busybox:1', '--evidence-dir', join(dir, 'ev')]);
    assert.equal(v.status, 0, v.stderr + v.stdout);
    assert.match(
      v.stdout,
      /^ubuntu-server: ubuntu-server-minimal\.squashfs \+ ubuntu-server-minimal\.ubuntu-server\.squashfs \+ ubuntu-server-minimal\.ubuntu-server\.remaster\.squashfs: engine, dpkg status, units and archives present$/m,
    );
    assert.match(v.stdout, /^PASS: host-side check: subiquity and curtin do not run here .*Not covered: /m);
    // The base ISO has no payload in its sources: the check fails and says what is missing.
    const b = cli([
      'verify',
      base,
      '--install',
      '--engine',
      'podman',
      '--expect',
      'demo/busybox:1',
      '--evidence-dir',
      join(dir, 'ev-base'),
    ]);
    assert.equal(b.status, 1, b.stderr + b.stdout);
    assert.match(b.stdout, /^ubuntu-server-minimal: ubuntu-server-minimal\.squashfs: .*usr\/bin\/podman is missing/m);
    assert.match(b.stdout, /^FAIL: host-side check/m);
    assert.deepEqual(mountsBelow(dir), []);
  },
);

test('24.04 desktop (layered), target both: every variation gets its layer; identical layers are one extent on the medium', T, async () => {
  const base = await casperIso('layered');
  const dir = mkdtempSync(join(tmpdir(), 'remaster-ubuntu-desktop-'));
  const out = join(dir, 'desktop.iso');
  const r = await build(base, out);
  assert.equal(r.status, 0, r.stderr);
  const after = parseYaml(await isoText(out, '/casper/install-sources.yaml')) as {
    id: string;
    path: string;
    variations: Record<string, { path: string; size: number }>;
  }[];
  const paths = after.flatMap((s) => [s.path, ...Object.values(s.variations).map((v) => v.path)]);
  assert.deepEqual(paths, [
    'minimal.remaster.squashfs',
    'minimal.remaster.squashfs',
    'minimal.enhanced-secureboot.remaster.squashfs',
    'minimal.standard.remaster.squashfs',
    'minimal.standard.remaster.squashfs',
    'minimal.standard.enhanced-secureboot.remaster.squashfs',
  ]);
  const m = new Members(out, dir);
  for (const p of new Set(paths)) assertInstalled(m, curtinChain(p), p);
  assertInstalled(m, curtinChain('minimal.standard.live.remaster.squashfs'), 'live chain', 'fixture-live');

  // The enhanced-secureboot layers hold no package state: the chain under them gets the same layer, stored once.
  const at = lbas(out);
  assert.equal(at.get('/casper/minimal.enhanced-secureboot.remaster.squashfs'), at.get('/casper/minimal.remaster.squashfs'));
  assert.equal(
    at.get('/casper/minimal.standard.enhanced-secureboot.remaster.squashfs'),
    at.get('/casper/minimal.standard.remaster.squashfs'),
  );
  assert.notEqual(at.get('/casper/minimal.remaster.squashfs'), at.get('/casper/minimal.standard.remaster.squashfs'));
  assert.deepEqual(mountsBelow(dir), []);
});

test("20.04/22.04 desktop (Ubiquity): success_command after the seed's own runs the install script from the medium", T, async () => {
  const fixture = await casperIso('single');
  const dir = mkdtempSync(join(tmpdir(), 'remaster-ubiquity-'));
  // A seed that already has a success_command: it is kept and runs first.
  const seed = join(dir, 'ubuntu.seed');
  writeFileSync(
    seed,
    `${await isoText(fixture, '/preseed/ubuntu.seed')}ubiquity ubiquity/success_command string echo oem-own >> /target/root/oem\n`,
  );
  const base = join(dir, 'base.iso');
  mapOver(fixture, seed, '/preseed/ubuntu.seed', base);
  const out = join(dir, 'single.iso');
  const r = await build(base, out);
  assert.equal(r.status, 0, r.stderr);
  // debconf joins a line ending in a backslash with the next.
  const text = (await isoText(out, '/preseed/ubuntu.seed')).replace(/\\\n\s*/g, '');
  const cmd = /^ubiquity\s+ubiquity\/success_command\s+string\s+(.*)$/m.exec(text)?.[1];
  assert.ok(cmd, text);
  assert.match(cmd, /^echo oem-own >> \/target\/root\/oem; sh \/cdrom\/remaster\/install\.sh$/);
  assert.equal(text.match(/success_command/g)?.length, 1, 'one success_command line (debconf keeps only the last)');

  // What the script needs is on the medium: the script, the engine's .debs, the payload.
  const listing = tool('xorriso', ['-indev', out, '-find', '/remaster', '-type', 'f']);
  assert.match(listing, /'\/remaster\/install\.sh'/);
  assert.match(listing, /'\/remaster\/payload\.tar'/);
  assert.match(listing, /'\/remaster\/debs\/podman_[^']+\.deb'/);
  extract(out, '/remaster/payload.tar', join(dir, 'payload.tar'));
  const payload = tool('tar', ['-tf', join(dir, 'payload.tar')]);
  assert.match(payload, /var\/lib\/remaster\/images\.json/);
  assert.match(payload, /remaster-loader\.service/);
  // The live session still gets its layer (sorted after filesystem.squashfs).
  assert.match(tool('xorriso', ['-indev', out, '-find', '/casper', '-name', '*.squashfs']), /'\/casper\/remaster\.squashfs'/);
  // Ubiquity cannot be driven here: verify --install says so (it was replayed at build time).
  const v = cli(['verify', out, '--install', '--engine', 'podman', '--expect', 'demo/busybox:1', '--evidence-dir', join(dir, 'ev')]);
  assert.equal(v.status, 2, v.stderr);
  assert.match(v.stderr, /installs with Ubiquity, a desktop application remaster cannot drive; its success_command was replayed/);
  assert.deepEqual(mountsBelow(dir), []);
});

test(
  'refused before any work: language layers (target installed), an unknown install-sources format, a missing chain member',
  T,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remaster-ubuntu-refuse-'));
    const desktop = await casperIso('layered');
    const server = await casperIso('server');
    /** base with install-sources.yaml replaced by text. */
    const withSources = (from: string, name: string, text: string) => {
      const f = join(dir, `${name}.yaml`);
      writeFileSync(f, text);
      const iso = join(dir, `${name}.iso`);
      mapOver(from, f, '/casper/install-sources.yaml', iso);
      return iso;
    };
    const yaml = await isoText(desktop, '/casper/install-sources.yaml');

    // preinstalled_langs (Ubuntu's own 24.04 desktop ISO): subiquity installs minimal.<lang>.squashfs on top, with its
    // own dpkg status, which would hide the engine's.
    const langs = await casperIso('layered-langs');
    let r = await build(langs, join(dir, 'never.iso'), '--target', 'installed');
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /remaster: error: .*ubuntu-desktop-minimal, ubuntu-desktop installs a language layer on top \(preinstalled_langs/,
    );
    const shown = cli(['inspect', langs]);
    assert.match(shown.stdout, /install source ubuntu-desktop-minimal: minimal\.squashfs \(default\); .*; languages en\n/);
    assert.match(shown.stdout, /^targets: live yes; installed no \(subiquity: /m);

    // 20.04 server's shape: one filesystem.squashfs, subiquity without install-sources.yaml, no preseed seeds. No route
    // reaches its installed systems: target installed is refused, naming what was (not) found.
    const legacy = join(dir, 'legacy-server.iso');
    tool('xorriso', ['-indev', await casperIso('single'), '-outdev', legacy, '-rm_r', '/preseed', '--', '-boot_image', 'any', 'replay']);
    r = await build(legacy, join(dir, 'never.iso'), '--target', 'installed');
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /remaster: error: target installed: remaster cannot reach systems installed from .*: the base carries no installer\n/,
    );
    assert.match(r.stderr, /remaster: hint: use --target live/);

    // autoinstall on a base without subiquity (Ubiquity reads seeds), and a file subiquity would reject.
    const auto = join(dir, 'auto.yaml');
    writeFileSync(auto, 'autoinstall:\n  version: 1\n');
    r = await build(await casperIso('single'), join(dir, 'never.iso'), '--autoinstall', auto);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /remaster: error: autoinstall: .* has no subiquity installer remaster installs through/);
    writeFileSync(auto, 'autoinstall:\n  identity: {}\n');
    r = await build(server, join(dir, 'never.iso'), '--autoinstall', auto);
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /remaster: error: autoinstall: .*auto\.yaml: no `version` in the autoinstall section: subiquity reads version 1/,
    );

    // A format subiquity reads after 25.04 (a mapping with a version), not the list remaster knows.
    const mapping = withSources(server, 'mapping', `version: 2\nsources:\n${yaml.replace(/^/gm, '  ')}`);
    r = await build(mapping, join(dir, 'never.iso'));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /remaster: error: .*unknown layout for subiquity: install-sources\.yaml is a mapping \(version: 2\)/);
    assert.match(r.stderr, /--target live/);

    // A source whose chain lacks a member curtin would mount.
    const missing = withSources(
      server,
      'missing',
      (await isoText(server, '/casper/install-sources.yaml')).replace(
        'path: ubuntu-server-minimal.ubuntu-server.squashfs',
        'path: ubuntu-server-minimal.ubuntu-server-oem.squashfs',
      ),
    );
    r = await build(missing, join(dir, 'never.iso'));
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /install source ubuntu-server \(ubuntu-server-minimal\.ubuntu-server-oem\.squashfs\): curtin mounts .*ubuntu-server-minimal\.ubuntu-server-oem\.squashfs, which the ISO lacks/,
    );
    assert.equal(tool('sh', ['-c', `ls -A ${dir}`]).includes('never.iso'), false);

    // The live session alone is still reachable on such a base, when asked for.
    r = await build(missing, join(dir, 'live.iso'), '--target', 'live');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(dir, 'live.iso')).length > 0, true);
    assert.deepEqual(mountsBelow(dir), []);
  },
);
