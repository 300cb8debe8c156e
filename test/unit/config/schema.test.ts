// The exported JSON Schema and the validator must agree: every enum value the schema offers is accepted,
// and every key the schema lists is a key the loader knows.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileSettings, toBuildConfig } from '../../../src/config/load.js';
import { jsonSchema } from '../../../src/config/schema.js';
import { UsageError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-schema-'));
const app = join(dir, 'a.tar');
writeFileSync(app, 'x');
const base = { iso: '/a.iso', out: '/b.iso', engine: 'podman', images: [app] };

test('the JSON Schema is closed, requires the essentials and documents every key', () => {
  const s = jsonSchema() as {
    additionalProperties: boolean;
    anyOf: { required: string[] }[];
    properties: Record<string, { description?: string }>;
  };
  assert.equal(s.additionalProperties, false);
  // A single build names its essentials; a variants file may set them per entry.
  assert.deepEqual(s.anyOf, [{ required: ['iso', 'out', 'engine', 'images'] }, { required: ['variants'] }]);
  assert.deepEqual(
    Object.keys(s.properties).sort(),
    fileSettings()
      .map((f) => f.key)
      .sort(),
  );
  for (const [k, p] of Object.entries(s.properties)) assert.ok(p.description, k);
});

test('every enum value in the schema is accepted by the loader, and others are refused naming the key', () => {
  for (const { key, schema: spec } of fileSettings()) {
    const schema = spec as { enum?: string[]; oneOf?: { enum?: string[] }[] };
    const values = schema.enum ?? schema.oneOf?.[0]?.enum;
    if (!values) continue;
    for (const v of values) assert.doesNotThrow(() => toBuildConfig({ ...base, [key]: v }, {}), `${key}=${v}`);
    assert.throws(
      () => toBuildConfig({ ...base, [key]: 'surely-not-a-value' }, {}),
      (e: unknown) => e instanceof UsageError && e.message.startsWith(key),
      key,
    );
  }
});
