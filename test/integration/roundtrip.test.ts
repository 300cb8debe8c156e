// Real xorriso on the fixture: modifying the ISO with boot replay keeps every El Torito entry and the hybrid MBR/GPT.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspectIso } from '../../src/iso/inspect.js';
import { xorrisoExtract, xorrisoModify, xorrisoReport } from '../../src/iso/xorriso.js';
import { fixtureIso } from '../helpers/fixture.js';
import { comparableSummaries } from '../helpers/boot-shape.js';

const bootShape = (r: Awaited<ReturnType<typeof xorrisoReport>>) => ({
  elTorito: r.elTorito.images.map((i) => ({
    platform: i.platform,
    bootable: i.bootable,
    emulation: i.emulation,
    loadSize: i.loadSize,
    path: i.path,
    options: i.options,
  })),
  catalog: r.elTorito.catalogPath,
  mbr: r.systemArea.mbr.map((p) => ({ index: p.index, bootable: p.bootable, type: p.type, path: p.path })),
  gpt: r.systemArea.gpt,
});

test('xorriso modify + boot replay keeps BIOS and UEFI El Torito entries and the hybrid MBR/GPT', { timeout: 30 * 60 * 1000 }, async () => {
  const base = await fixtureIso();
  const dir = mkdtempSync(join(tmpdir(), 'remaster-rt-'));
  const extra = join(dir, 'extra.txt');
  writeFileSync(extra, 'added by the round-trip test\n');
  const out = join(dir, 'out.iso');
  const before = await xorrisoReport(base);
  assert.deepEqual(
    before.elTorito.images.map((i) => i.platform),
    ['BIOS', 'UEFI'],
  );
  await xorrisoModify({ indev: base, outdev: out, map: [{ source: extra, target: '/live/extra.txt' }] });
  const after = await xorrisoReport(out);
  assert.deepEqual(bootShape(after), bootShape(before));
  const [sa, sb] = comparableSummaries(after.systemArea, before.systemArea);
  assert.equal(sa, sb);
  assert.ok(after.files.some((f) => f.path === '/live/extra.txt'));
  // The first 512 bytes still carry the isohybrid MBR boot code signature.
  const info = await inspectIso(out);
  assert.equal(info.flavor, 'debian-live');
  assert.deepEqual([info.boot.bios, info.boot.uefi, info.boot.hybrid, info.boot.gpt], [true, true, true, true]);
  const back = join(dir, 'back.txt');
  await xorrisoExtract(out, [{ from: '/live/extra.txt', to: back }]);
  assert.equal((await import('node:fs')).readFileSync(back, 'utf8'), 'added by the round-trip test\n');
});
