// subiquity's autoinstall file: read, refused with one reason, and the files the medium gets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { autoinstallFiles, parseAutoinstall, UNATTENDED_ARGS } from '../../../src/installer/autoinstall.js';

const WRAPPED =
  '#cloud-config\nautoinstall:\n  version: 1\n  identity: {hostname: oem, username: oem, password: x}\n  late-commands:\n    - echo mine > /target/root/mine\n';
const BARE = 'version: 1\nidentity: {hostname: oem, username: oem, password: x}\n';

test('parseAutoinstall: the documented form and the bare section; the user late-commands counted, never changed', () => {
  const w = parseAutoinstall(WRAPPED);
  assert.ok(w.ok);
  assert.equal(w.wrapped, true);
  assert.equal(w.lateCommands, 1);
  const b = parseAutoinstall(BARE);
  assert.ok(b.ok);
  assert.equal(b.wrapped, false);
  assert.equal(b.lateCommands, 0);
});

test('parseAutoinstall: one reason for each file subiquity would reject', () => {
  const why = (t: string) => {
    const r = parseAutoinstall(t);
    return r.ok ? 'ok' : r.why;
  };
  assert.match(why('autoinstall: [\n'), /^not YAML/);
  assert.match(why('- version: 1\n'), /^not a YAML mapping/);
  assert.match(why('autoinstall: 1\n'), /`autoinstall:` is not a mapping/);
  assert.match(why('autoinstall:\n  identity: {}\n'), /no `version` in the autoinstall section/);
  assert.match(why('autoinstall:\n  version: 2\n'), /version 2 in the autoinstall section: subiquity reads version 1/);
  assert.match(why('autoinstall:\n  version: 1\n  late-commands: echo hi\n'), /`late-commands` is not a list/);
});

test('autoinstallFiles: /autoinstall.yaml as written; unattended adds a NoCloud seed whose user-data carries the autoinstall key', () => {
  const w = parseAutoinstall(WRAPPED);
  assert.ok(w.ok);
  assert.deepEqual([...autoinstallFiles(WRAPPED, w, false)], [['/autoinstall.yaml', WRAPPED]]);
  const files = autoinstallFiles(WRAPPED, w, true);
  assert.deepEqual([...files.keys()], ['/autoinstall.yaml', '/nocloud/user-data', '/nocloud/meta-data']);
  const ud = files.get('/nocloud/user-data') ?? '';
  assert.match(ud, /^#cloud-config\nautoinstall:\n/);
  assert.equal(ud.match(/#cloud-config/g)?.length, 1);
  // A bare section is wrapped for cloud-init, which hands subiquity only the autoinstall key.
  const b = parseAutoinstall(BARE);
  assert.ok(b.ok);
  const bare = autoinstallFiles(BARE, b, true).get('/nocloud/user-data') ?? '';
  assert.match(bare, /^#cloud-config\n/);
  assert.deepEqual(parseYaml(bare), { autoinstall: { version: 1, identity: { hostname: 'oem', username: 'oem', password: 'x' } } });
  assert.deepEqual([...UNATTENDED_ARGS], ['autoinstall', 'ds=nocloud;s=/cdrom/nocloud/']);
});
