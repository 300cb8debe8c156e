// Flags from the settings table: names, switches, repeatable flags and aliases map to setting keys.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawFromFlags } from '../../../src/cli/commands/build.js';
import { flagsToRaw, parseFlags } from '../../../src/cli/flags.js';
import { toBuildConfig } from '../../../src/config/load.js';
import { UsageError } from '../../../src/errors.js';

const base = { iso: '/base.iso', out: '/out/new.iso', engine: 'docker', images: ['docker://registry.example/app:1'] };

test('build flags --verify-media and --evidence-dir map to their config keys', () => {
  const raw = rawFromFlags(flagsToRaw('build', { 'verify-media': 'usb', 'evidence-dir': '/tmp/ev', verify: 'uefi' }), {});
  assert.equal(raw.verifyMedia, 'usb');
  assert.equal(raw.evidenceDir, '/tmp/ev');
  const c = toBuildConfig({ ...base, ...raw }, {});
  assert.deepEqual([c.verify, c.verifyMedia, c.evidenceDir], [['uefi'], ['usb'], '/tmp/ev']);
});

test('switches set their value, repeatable flags give lists, aliases count as the flag', () => {
  const { raw } = parseFlags('build', [
    '--no-resume',
    '--no-engine-cache',
    '--keep-work',
    '--image',
    'a.tar',
    '--image',
    'b.tar',
    '-o',
    'x.iso',
  ]);
  assert.deepEqual(raw, { resume: false, engineCache: false, keepWork: true, images: ['a.tar', 'b.tar'], out: 'x.iso' });
  assert.deepEqual(parseFlags('verify', ['--work-dir', '/ev']).raw, { evidenceDir: '/ev' }, 'the earlier name of --evidence-dir');
  assert.deepEqual(flagsToRaw('build', { 'store-device': 'LABEL=s' }).storeDevice, 'LABEL=s');
  assert.throws(
    () => parseFlags('build', ['--colour']),
    (e: unknown) =>
      e instanceof UsageError && /^remaster build: Unknown option '--colour'/.test(e.message) && e.hint === 'see: remaster build --help',
  );
});
