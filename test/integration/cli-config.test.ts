// remaster config set/get/list/unset keep user defaults with conf; flags and config files win over them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { rawFromFlags } from '../../src/cli/commands/build.js';
import { cli } from '../helpers/fixture.js';

test('config set/get/list/unset, validated, stored 0600', () => {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-conf-'));
  const env = { REMASTER_CONFIG_DIR: dir };
  assert.equal(cli(['config', 'set', 'engine', 'podman'], env).status, 0);
  assert.equal(cli(['config', 'get', 'engine'], env).stdout, 'podman\n');
  const bad = cli(['config', 'set', 'engine', 'lxc'], env);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^remaster: error: engine: expected "docker" or "podman", got "lxc"$/m);
  assert.equal(cli(['config', 'set', 'colour', 'blue'], env).status, 2);
  assert.match(cli(['config', 'list'], env).stdout, /^engine=podman$/m);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), { engine: 'podman' });
  assert.equal(cli(['config', 'unset', 'engine'], env).status, 0);
  assert.equal(cli(['config', 'get', 'engine'], env).stdout, '\n');
});

test('precedence: flags over the config file over user defaults', () => {
  assert.equal(rawFromFlags({}, { engine: 'podman' }).engine, 'podman');
  assert.equal(rawFromFlags({ engine: 'docker' }, { engine: 'podman' }).engine, 'docker');
});

test('remaster schema prints the JSON Schema', () => {
  const r = cli(['schema']);
  assert.equal(r.status, 0);
  assert.equal(JSON.parse(r.stdout).title, 'remaster build configuration');
});
