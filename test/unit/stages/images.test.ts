// What the images stage compares to decide whether a rerun may reuse the last run's archives: for registry and
// daemon sources the digest served now, read with skopeo (a fake one on PATH here).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sourceIdentity } from '../../../src/stages/images.js';
import { canonicalJson } from '../../../src/util/hash.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-identity-'));
const digestFile = join(dir, 'digest');
const calls = join(dir, 'calls');
writeFileSync(
  join(dir, 'skopeo'),
  `#!/bin/bash\necho "$*" >>"${calls}"\n[ -s "${digestFile}" ] || { echo 'fatal: manifest unknown' >&2; exit 1; }\ncat "${digestFile}"\n`,
  { mode: 0o755 },
);
process.env.PATH = `${dir}:${process.env.PATH ?? ''}`;

const spec = { kind: 'skopeo' as const, transport: 'docker' as const, source: 'docker://reg.example:5000/app:1', ref: 'acme/app:1' };
const id = async (s = spec) => canonicalJson(await sourceIdentity(s, { architecture: 'amd64' }));
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

test('a registry tag is identified by the digest it points at now: a moved tag is a new input', async () => {
  writeFileSync(digestFile, `${D1}\n`);
  const first = await id();
  assert.equal(await id(), first, 'same digest, same identity');
  assert.match(first, new RegExp(D1));
  writeFileSync(digestFile, `${D2}\n`);
  assert.notEqual(await id(), first);
  assert.match(readFileSync(calls, 'utf8'), /inspect --format \{\{\.Digest\}\}.*docker:\/\/reg\.example:5000\/app:1/);
});

test('a digest that cannot be read now never matches the last run', async () => {
  writeFileSync(digestFile, '');
  assert.notEqual(await id(), await id());
});

test('a reference pinned by digest needs no lookup', async () => {
  writeFileSync(calls, '');
  const pinned = { ...spec, source: `docker://reg.example:5000/app@${D1}` };
  assert.equal(await id(pinned), await id(pinned));
  assert.equal(readFileSync(calls, 'utf8'), '');
});
