import assert from 'node:assert/strict';
import { test } from 'node:test';
import { doctorReport, firstLine } from '../../../../src/cli/commands/doctor.js';

test('doctor: one line per check, one apt-get command for every missing package, other fixes spelled out', () => {
  const r = doctorReport([
    { name: 'xorriso', ok: true, detail: 'xorriso 1.5.4', for: 'build' },
    { name: 'skopeo', ok: false, detail: 'not found', fix: 'apt-get install skopeo', for: 'registry sources' },
    { name: 'getfattr', ok: false, detail: 'not found', fix: 'apt-get install attr', for: 'build' },
    { name: 'setfattr', ok: false, detail: 'not found', fix: 'apt-get install attr', for: 'build' },
    { name: 'root', ok: false, detail: 'uid 1000', fix: 'run as root (sudo)', for: 'build' },
  ]);
  assert.equal(r.ok, false);
  const lines = r.text.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^ok {6}xorriso\s+xorriso 1.5.4$/);
  assert.match(lines[1] ?? '', /^MISSING skopeo\s+not found {2}\(needed for registry sources\)$/);
  assert.ok(lines.includes('fix: apt-get install skopeo attr'));
  assert.ok(lines.includes('fix: root: run as root (sudo)'));
  assert.equal(doctorReport([{ name: 'a', ok: true, detail: '', for: 'x' }]).ok, true);
  assert.equal(firstLine('\n\n*** Zstandard CLI v1.5.4 ***\nmore'), '*** Zstandard CLI v1.5.4 ***');
});
