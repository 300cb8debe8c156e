import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readConfigFile, toBuildConfig } from '../../../src/config/load.js';
import { UsageError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-cfg-'));
const app = join(dir, 'app.tar');
writeFileSync(app, 'x');
const base = { iso: '/x/base.iso', out: '/x/out.iso', engine: 'docker', images: [app] };

const usage = (re: RegExp) => (e: unknown) => e instanceof UsageError && e.exitCode === 2 && re.test(e.message);

test('defaults: zstd, auto rootfs mode, verify bios, 75% tmpfs', () => {
  const c = toBuildConfig(base, {});
  assert.equal(c.compression, 'zstd');
  assert.equal(c.rootfsMode, 'auto');
  assert.deepEqual(c.verify, ['bios']);
  assert.equal(c.tmpfsSize, '75%');
  assert.deepEqual(c.images, [{ kind: 'docker-archive', path: app, ref: undefined }]);
  assert.ok(Object.isFrozen(c));
});

test('wrong types and values name the key path', () => {
  assert.throws(() => toBuildConfig({ ...base, engine: 'lxc' }, {}), usage(/^engine: expected "docker" or "podman", got "lxc"/));
  assert.throws(() => toBuildConfig({ ...base, images: 'app.tar' }, {}), usage(/^images: expected a list/));
  assert.throws(() => toBuildConfig({ ...base, images: [{ source: app, tag: 'x' }] }, {}), usage(/^images\[0\]\.tag: unknown key/));
  assert.throws(
    () => toBuildConfig({ ...base, images: [{ source: app, cmd: 'sh' }] }, {}),
    usage(/^images\[0\]\.cmd: only a rootfs image/),
  );
  assert.throws(() => toBuildConfig({ ...base, verify: ['bios', 'pxe'] }, {}), usage(/^verify\[1\]: expected/));
  assert.throws(() => toBuildConfig({ ...base, compressionLevel: 40 }, {}), usage(/^compressionLevel: expected an integer from 1 to 22/));
  assert.throws(() => toBuildConfig({ ...base, deleteAfterLoad: 'yes' }, {}), usage(/^deleteAfterLoad: expected true or false/));
  assert.throws(
    () => toBuildConfig({ ...base, extraPackages: ['curl; reboot'] }, {}),
    usage(/^extraPackages\[0\]: expected a Debian package name/),
  );
  assert.throws(() => toBuildConfig({ ...base, tmpfsSize: '1T; x' }, {}), usage(/^tmpfsSize/));
});

test('missing essentials and missing image files are usage errors', () => {
  assert.throws(() => toBuildConfig({ ...base, iso: undefined }, {}), usage(/no base ISO/));
  assert.throws(() => toBuildConfig({ ...base, images: [] }, {}), usage(/no images/));
  assert.throws(() => toBuildConfig({ ...base, images: ['/nope/app.tar'] }, {}), usage(/image file \/nope\/app.tar does not exist/));
  assert.throws(() => toBuildConfig({ ...base, images: [`rootfs:${app}`] }, {}), usage(/needs a name/));
});

test('image strings: transports and names', () => {
  const c = toBuildConfig({ ...base, images: [`rootfs:${app}=acme/r:1`, `docker-archive:${app}=acme/d:2`] }, {});
  assert.deepEqual(c.images, [
    { kind: 'rootfs', path: app, ref: 'acme/r:1' },
    { kind: 'docker-archive', path: app, ref: 'acme/d:2' },
  ]);
});

test('image objects: tlsVerify only for registries, run settings validated with their path', () => {
  const c = toBuildConfig(
    { ...base, images: [{ source: 'docker://reg.local:5000/a/b:1', tlsVerify: false, run: { name: 'web', checkPort: 8080 } }] },
    {},
  );
  assert.deepEqual(c.images[0], {
    kind: 'skopeo',
    transport: 'docker',
    source: 'docker://reg.local:5000/a/b:1',
    ref: undefined,
    tlsVerify: false,
    run: {
      name: 'web',
      command: undefined,
      ports: undefined,
      env: undefined,
      volumes: undefined,
      restart: undefined,
      network: undefined,
      checkPort: 8080,
    },
  });
  assert.throws(
    () => toBuildConfig({ ...base, images: [{ source: app, tlsVerify: false }] }, {}),
    usage(/^images\[0\]\.tlsVerify: only a docker:\/\/ registry/),
  );
  assert.throws(() => toBuildConfig({ ...base, images: [{ source: app, run: { name: 'a b' } }] }, {}), usage(/^images\[0\]\.run\.name:/));
  assert.throws(
    () => toBuildConfig({ ...base, images: [{ source: app, run: { name: 'a', user: 'root' } }] }, {}),
    usage(/^images\[0\]\.run\.user: unknown key/),
  );
});

test('SOURCE_DATE_EPOCH is read from the environment and validated', () => {
  assert.equal(toBuildConfig(base, { SOURCE_DATE_EPOCH: '1700000000' }).sourceDateEpoch, 1700000000);
  assert.equal(toBuildConfig(base, {}).sourceDateEpoch, undefined);
  assert.throws(() => toBuildConfig(base, { SOURCE_DATE_EPOCH: 'yesterday' }), usage(/SOURCE_DATE_EPOCH/));
});

test('config file: YAML, unknown keys refused, paths relative to the file', () => {
  const f = join(dir, 'remaster.yml');
  writeFileSync(f, 'iso: base.iso\nout: out/new.iso\nengine: podman\nimages:\n  - app.tar\n  - source: rootfs:app.tar=acme/r:1\n');
  const raw = readConfigFile(f);
  assert.equal(raw.iso, join(dir, 'base.iso'));
  assert.deepEqual(raw.images, [join(dir, 'app.tar'), { source: `rootfs:${join(dir, 'app.tar')}=acme/r:1` }]);
  const bad = join(dir, 'bad.yml');
  writeFileSync(bad, 'iso: a\nengnie: docker\n');
  assert.throws(() => readConfigFile(bad), usage(/unknown key "engnie"/));
  const broken = join(dir, 'broken.yml');
  writeFileSync(broken, 'iso: [unclosed\n');
  assert.throws(() => readConfigFile(broken), usage(/not valid YAML or JSON/));
});

test('boot menu options: kernel arguments, title and .disk/info that could break a menu file are refused', () => {
  const c = toBuildConfig(
    { ...base, kernelArgs: ['quiet', 'console=ttyS0,115200n8'], serialConsole: true, menuTitle: 'ACME 1.0', menuTimeout: 0 },
    {},
  );
  const boot = (x: typeof c) => ({
    kernelArgs: x.kernelArgs,
    serialConsole: x.serialConsole,
    menuTitle: x.menuTitle,
    menuTimeout: x.menuTimeout,
  });
  assert.deepEqual(boot(c), {
    kernelArgs: ['quiet', 'console=ttyS0,115200n8'],
    serialConsole: true,
    menuTitle: 'ACME 1.0',
    menuTimeout: 0,
  });
  assert.deepEqual(boot(toBuildConfig(base, {})), { kernelArgs: [], serialConsole: false, menuTitle: undefined, menuTimeout: undefined });
  assert.throws(() => toBuildConfig({ ...base, kernelArgs: ['a b'] }, {}), usage(/^kernelArgs\[0\]: expected one kernel argument/));
  assert.throws(() => toBuildConfig({ ...base, kernelArgs: ['x=$(reboot)'] }, {}), usage(/^kernelArgs\[0\]/));
  assert.throws(() => toBuildConfig({ ...base, kernelArgs: ['---'] }, {}), usage(/^kernelArgs\[0\]/));
  assert.throws(() => toBuildConfig({ ...base, menuTitle: 'say "hi"' }, {}), usage(/^menuTitle: expected one line/));
  assert.throws(() => toBuildConfig({ ...base, menuTitle: 'a\nmenuentry x' }, {}), usage(/^menuTitle/));
  assert.throws(() => toBuildConfig({ ...base, menuTimeout: -1 }, {}), usage(/^menuTimeout/));
  assert.throws(() => toBuildConfig({ ...base, diskInfo: 'two\nlines' }, {}), usage(/^diskInfo/));
});

test('config: verifyMedia defaults to cdrom, evidenceDir to none (the workspace); both resolve', () => {
  const c = toBuildConfig(base, {});
  assert.deepEqual(c.verifyMedia, ['cdrom']);
  assert.equal(c.evidenceDir, undefined);
  const d = toBuildConfig({ ...base, verifyMedia: 'all', evidenceDir: 'ev' }, {});
  assert.deepEqual(d.verifyMedia, ['cdrom', 'usb']);
  assert.equal(d.evidenceDir, `${process.cwd()}/ev`);
});

test('config: storeDevice takes tags and /dev paths, refuses anything a shell would read differently', () => {
  assert.equal(toBuildConfig({ ...base, storeDevice: 'LABEL=remaster-store' }, {}).storeDevice, 'LABEL=remaster-store');
  assert.equal(toBuildConfig({ ...base, storeDevice: '/dev/disk/by-id/nvme-1' }, {}).storeDevice, '/dev/disk/by-id/nvme-1');
  assert.equal(toBuildConfig(base, {}).storeDevice, undefined);
  for (const bad of ['LABEL=a b', 'LABEL=$(reboot)', 'sdb1', 'LABEL=', "UUID=x'y"]) {
    assert.throws(() => toBuildConfig({ ...base, storeDevice: bad }, {}), /storeDevice/, bad);
  }
});
