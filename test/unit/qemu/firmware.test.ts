import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { RemasterError } from '../../../src/errors.js';
import { findOvmf, findSecureOvmf, isSecureBootVariant, prepareFirmware } from '../../../src/qemu/firmware.js';

let root: string;

async function touch(path: string, content = 'x'): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'remaster-fw-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('isSecureBootVariant', () => {
  for (const n of ['OVMF_CODE_4M.secboot.fd', 'OVMF_VARS_4M.ms.fd', 'OVMF_VARS_4M.snakeoil.fd', 'edk2-x86_64-secure-code.fd']) {
    assert.equal(isSecureBootVariant(n), true, n);
  }
  for (const n of ['OVMF_CODE_4M.fd', 'OVMF_VARS.fd', 'edk2-i386-vars.fd']) assert.equal(isSecureBootVariant(n), false, n);
});

test('Debian bookworm layout: the 4M pair, never secboot/ms', async () => {
  const d = join(root, 'bookworm/OVMF');
  for (const n of [
    'OVMF_CODE.fd',
    'OVMF_CODE.secboot.fd',
    'OVMF_CODE_4M.fd',
    'OVMF_CODE_4M.secboot.fd',
    'OVMF_VARS.fd',
    'OVMF_VARS.ms.fd',
    'OVMF_VARS_4M.fd',
    'OVMF_VARS_4M.ms.fd',
  ]) {
    await touch(join(d, n));
  }
  assert.deepEqual(findOvmf({ roots: [join(root, 'nope'), d] }), {
    code: join(d, 'OVMF_CODE_4M.fd'),
    varsTemplate: join(d, 'OVMF_VARS_4M.fd'),
  });
});

test('older layout OVMF_CODE.fd/OVMF_VARS.fd; pairs never mix sizes', async () => {
  const d = join(root, 'old/OVMF');
  await touch(join(d, 'OVMF_CODE_4M.fd')); // no matching 4M vars
  await touch(join(d, 'OVMF_CODE.fd'));
  await touch(join(d, 'OVMF_VARS.fd'));
  assert.deepEqual(findOvmf({ roots: [d] }), { code: join(d, 'OVMF_CODE.fd'), varsTemplate: join(d, 'OVMF_VARS.fd') });
});

test('upstream /usr/share/qemu names, and only secboot files is not enough', async () => {
  const q = join(root, 'upstream/qemu');
  await touch(join(q, 'edk2-x86_64-code.fd'));
  await touch(join(q, 'edk2-i386-vars.fd'));
  await touch(join(q, 'edk2-x86_64-secure-code.fd'));
  const sb = join(root, 'sbonly/OVMF');
  await touch(join(sb, 'OVMF_CODE_4M.secboot.fd'));
  await touch(join(sb, 'OVMF_VARS_4M.ms.fd'));
  assert.deepEqual(findOvmf({ roots: [sb, q] }), {
    code: join(q, 'edk2-x86_64-code.fd'),
    varsTemplate: join(q, 'edk2-i386-vars.fd'),
  });
});

test('a dangling symlink counts as missing; nothing found throws with the apt hint', async () => {
  const d = join(root, 'dangling');
  await mkdir(d, { recursive: true });
  await symlink(join(d, 'gone.fd'), join(d, 'OVMF_CODE_4M.fd'));
  await touch(join(d, 'OVMF_VARS_4M.fd'));
  assert.throws(
    () => findOvmf({ roots: [d, join(root, 'missing')] }),
    (e: unknown) => e instanceof RemasterError && e.hint === 'apt-get install ovmf' && /OVMF\) not found/.test(e.message),
  );
});

test('prepareFirmware: bios needs nothing; uefi gets a fresh writable VARS copy per run', async () => {
  const d = join(root, 'prep/OVMF');
  await touch(join(d, 'OVMF_CODE_4M.fd'), 'code');
  await touch(join(d, 'OVMF_VARS_4M.fd'), 'pristine vars');
  const work = join(root, 'prep/work');
  assert.deepEqual(await prepareFirmware('bios', work, { roots: [d] }), { kind: 'bios' });

  const fw = await prepareFirmware('uefi', work, { roots: [d] });
  assert.deepEqual(fw, {
    kind: 'uefi',
    code: join(d, 'OVMF_CODE_4M.fd'),
    vars: join(work, 'OVMF_VARS.fd'),
    varsTemplate: join(d, 'OVMF_VARS_4M.fd'),
    secureBoot: false,
  });
  assert.ok(fw.kind === 'uefi');
  assert.equal((await stat(fw.vars)).mode & 0o777, 0o644);
  await writeFile(fw.vars, 'boot entries written by the last guest');
  await prepareFirmware('uefi', work, { roots: [d] });
  assert.equal(await readFile(join(work, 'OVMF_VARS.fd'), 'utf8'), 'pristine vars');
  assert.equal(await readFile(join(d, 'OVMF_VARS_4M.fd'), 'utf8'), 'pristine vars');
});

test('prepareFirmware: missing OVMF is a RemasterError', async () => {
  await assert.rejects(prepareFirmware('uefi', join(root, 'w2'), { roots: [join(root, 'none')] }), RemasterError);
});

test('Secure Boot firmware: the descriptor with secure-boot and enrolled-keys wins; else the Debian names', async () => {
  const d = join(root, 'sb/OVMF');
  for (const n of ['OVMF_CODE_4M.fd', 'OVMF_VARS_4M.fd', 'OVMF_CODE_4M.ms.fd', 'OVMF_VARS_4M.ms.fd', 'custom-code.fd', 'custom-vars.fd']) {
    await touch(join(d, n));
  }
  const descriptors = join(root, 'sb/descriptors');
  const descriptor = (code: string, vars: string, features: string[]) =>
    JSON.stringify({
      'interface-types': ['uefi'],
      mapping: { device: 'flash', executable: { filename: code }, 'nvram-template': { filename: vars } },
      targets: [{ architecture: 'x86_64', machines: ['pc-q35-*'] }],
      features,
    });
  await touch(
    join(descriptors, '50-secure-no-keys.json'),
    descriptor(join(d, 'OVMF_CODE_4M.fd'), join(d, 'OVMF_VARS_4M.fd'), ['secure-boot', 'requires-smm']),
  );
  await touch(
    join(descriptors, '60-enrolled.json'),
    descriptor(join(d, 'custom-code.fd'), join(d, 'custom-vars.fd'), ['enrolled-keys', 'secure-boot']),
  );
  assert.deepEqual(findSecureOvmf({ roots: [d], descriptorDirs: [descriptors] }), {
    code: join(d, 'custom-code.fd'),
    varsTemplate: join(d, 'custom-vars.fd'),
  });
  assert.deepEqual(findSecureOvmf({ roots: [d], descriptorDirs: [join(root, 'none')] }), {
    code: join(d, 'OVMF_CODE_4M.ms.fd'),
    varsTemplate: join(d, 'OVMF_VARS_4M.ms.fd'),
  });
  assert.throws(() => findSecureOvmf({ roots: [join(root, 'empty')], descriptorDirs: [] }), RemasterError);
  const fw = await prepareFirmware('uefi-sb', join(root, 'sb-run'), { roots: [d], descriptorDirs: [] });
  assert.equal(fw.kind === 'uefi' && fw.secureBoot, true);
});
