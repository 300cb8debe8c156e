import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { RemasterError } from '../../../src/errors.js';
import {
  accelFromProbe,
  chooseAccel,
  DEFAULT_TCG_BOOT_TIMEOUT_MS,
  decideAccel,
  defaultBootTimeoutMs,
  gatherKvmFacts,
  kvmProbeArgs,
  timeoutScale,
} from '../../../src/qemu/accel.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'remaster-accel-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('timeouts: TCG defaults to 600 s', () => {
  assert.equal(timeoutScale('kvm'), 1);
  assert.equal(timeoutScale('tcg'), 4);
  assert.equal(DEFAULT_TCG_BOOT_TIMEOUT_MS, 600_000);
  assert.equal(defaultBootTimeoutMs('tcg'), DEFAULT_TCG_BOOT_TIMEOUT_MS);
  assert.equal(defaultBootTimeoutMs('kvm'), 150_000);
});

test('decideAccel: auto', () => {
  assert.deepEqual(decideAccel('auto', { devKvm: 'missing' }), {
    accel: 'tcg',
    reason: '/dev/kvm does not exist; using TCG (software emulation)',
  });
  assert.match((decideAccel('auto', { devKvm: 'unopenable', openError: 'EACCES' }) as { reason: string }).reason, /EACCES/);
  const pvm = decideAccel('auto', { devKvm: 'ok', softwareModule: 'kvm_pvm' });
  assert.ok(pvm !== 'probe');
  assert.equal(pvm.accel, 'tcg');
  assert.match(pvm.reason, /kvm_pvm/);
  assert.equal(decideAccel('auto', { devKvm: 'ok' }), 'probe');
});

test('decideAccel: explicit choices', () => {
  assert.deepEqual(decideAccel('tcg', { devKvm: 'ok' }), { accel: 'tcg', reason: 'TCG requested' });
  assert.equal((decideAccel('kvm', { devKvm: 'ok', softwareModule: 'kvm_pvm' }) as { accel: string }).accel, 'kvm');
  assert.throws(() => decideAccel('kvm', { devKvm: 'missing' }), RemasterError);
});

test('kvmProbeArgs is the SeaBIOS-only probe', () => {
  assert.deepEqual(kvmProbeArgs('/tmp/p/seabios.log'), [
    '-accel',
    'kvm',
    '-machine',
    'q35',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-m',
    '64',
    '-chardev',
    'file,id=dbg,path=/tmp/p/seabios.log',
    '-device',
    'isa-debugcon,iobase=0x402,chardev=dbg',
  ]);
});

test('gatherKvmFacts / chooseAccel on a fake /dev and /sys', async () => {
  const dev = join(root, 'kvm');
  const sys = join(root, 'sys-module');
  await mkdir(sys, { recursive: true });
  await writeFile(dev, '');
  assert.deepEqual(await gatherKvmFacts({ devKvmPath: join(root, 'none'), sysModuleDir: sys }), { devKvm: 'missing' });
  assert.deepEqual(await gatherKvmFacts({ devKvmPath: dev, sysModuleDir: sys }), { devKvm: 'ok' });
  await mkdir(join(sys, 'kvm_pvm'));
  assert.deepEqual(await gatherKvmFacts({ devKvmPath: dev, sysModuleDir: sys }), {
    devKvm: 'ok',
    softwareModule: 'kvm_pvm',
  });
  const choice = await chooseAccel({ preference: 'auto', devKvmPath: dev, sysModuleDir: sys });
  assert.equal(choice.accel, 'tcg');
  assert.match(choice.reason, /kvm_pvm/);
  const none = await chooseAccel({ preference: 'auto', devKvmPath: join(root, 'none'), sysModuleDir: sys });
  assert.equal(none.accel, 'tcg');
});

test('accelFromProbe: failed, slow, and fast probes', () => {
  assert.equal(accelFromProbe({ ok: false, detail: 'SeaBIOS printed nothing within 5 s under KVM', elapsedMs: 5000 }).accel, 'tcg');
  const slow = accelFromProbe({ ok: true, detail: 'SeaBIOS reached its boot device search under KVM', elapsedMs: 3644 });
  assert.equal(slow.accel, 'tcg');
  assert.match(slow.reason, /slow .* after 3\.6 s/);
  const fast = accelFromProbe({ ok: true, detail: 'SeaBIOS reached its boot device search under KVM', elapsedMs: 180 });
  assert.deepEqual(fast, { accel: 'kvm', reason: 'KVM works (SeaBIOS reached its boot device search under KVM in 0.2 s)' });
});
