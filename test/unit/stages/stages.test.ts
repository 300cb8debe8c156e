import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requiredTools } from '../../../src/exec/tools.js';
import { xorrisoVersionOk } from '../../../src/stages/preflight.js';
import { chooseMode } from '../../../src/stages/rootfs.js';
import { layerIsoPath } from '../../../src/stages/squash.js';
import { partialPath, unverifiedPath, updateSha256Sums } from '../../../src/iso/output.js';

test('the new layer sorts after every base layer (live-boot stacks in sorted order)', () => {
  assert.equal(layerIsoPath('/live', ['/live/filesystem.squashfs']), '/live/remaster.squashfs');
  assert.equal(layerIsoPath('/live', ['/live/filesystem.squashfs', '/live/zz-extra.squashfs']), '/live/zzremaster.squashfs');
});

test('partial and unverified outputs sit beside --out, never at it', () => {
  assert.equal(partialPath('/out/app.iso'), '/out/.app.iso.remaster-partial');
  assert.equal(unverifiedPath('/out/app.iso'), '/out/app.iso.unverified');
});

test('chooseMode: layer (every accepted base stacks squashfs files), rebuild on request', () => {
  const ctx = (rootfsMode: 'auto' | 'layer' | 'rebuild') => ({ config: { rootfsMode } as never });
  assert.equal(chooseMode(ctx('auto')), 'layer');
  assert.equal(chooseMode(ctx('layer')), 'layer');
  assert.equal(chooseMode(ctx('rebuild')), 'rebuild');
});

test('preflight: xorriso version gate and tool list', () => {
  assert.equal(xorrisoVersionOk('xorriso 1.5.4 : RockRidge filesystem manipulator'), true);
  assert.equal(xorrisoVersionOk('xorriso 1.5.2 : RockRidge'), false);
  assert.equal(xorrisoVersionOk('xorriso 1.6.0'), true);
  assert.ok(requiredTools({ verify: ['bios'], compression: 'zstd' }).includes('qemu-system-x86_64'));
  assert.ok(!requiredTools({ verify: [], compression: 'none' }).includes('zstd'));
});

test('SHA256SUMS beside the ISO: one line per ISO, replaced on rebuild, sorted by name', () => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  const c = 'c'.repeat(64);
  const first = updateSha256Sums('', 'site1.iso', a);
  assert.equal(first, `${a}  site1.iso\n`);
  const second = updateSha256Sums(first, 'site0.iso', b);
  assert.equal(second, `${b}  site0.iso\n${a}  site1.iso\n`);
  assert.equal(updateSha256Sums(second, 'site1.iso', c), `${b}  site0.iso\n${c}  site1.iso\n`);
});

test('squashfs level: 3 for a layer of zstd or gzip, the default for a rebuild, a wanted level capped per algorithm', async () => {
  const { squashLevel } = await import('../../../src/stages/squash.js');
  assert.equal(squashLevel('zstd', 'layer', undefined), 3);
  assert.equal(squashLevel('zstd', 'rebuild', undefined), undefined);
  assert.equal(squashLevel('zstd', 'rebuild', 19), 19);
  assert.equal(squashLevel('gzip', 'layer', 15), 9);
  assert.equal(squashLevel('xz', 'layer', undefined), undefined);
  assert.equal(squashLevel('lz4', 'layer', 5), undefined);
});
