// The settings table drives everything else: a new entry shows up in the JSON Schema, the config file check, the
// flags of the verbs it names, their mapping to its key, and the --help of those verbs, with nothing else edited.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { optionsHelp, parseArgsOptions, parseFlags } from '../../../src/cli/flags.js';
import { readConfigFile, toBuildConfig } from '../../../src/config/load.js';
import { int } from '../../../src/config/parse.js';
import { jsonSchema } from '../../../src/config/schema.js';
import { SETTINGS, type Setting } from '../../../src/config/settings.js';
import { UsageError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-settings-'));
const app = join(dir, 'app.tar');
writeFileSync(app, 'x');

const fanSpeed: Setting = {
  key: 'fanSpeed',
  doc: 'how fast the build machine spins its fans',
  schema: { type: 'integer', minimum: 1, maximum: 9, default: 3 },
  default: 3,
  parse: (k, v) => int(k, v, 1, 9),
  flags: { build: { name: 'fan-speed', arg: '<n>' }, demo: { name: 'fan', arg: '<n>', doc: 'fans of the demo build' } },
};
const table: readonly Setting[] = [...SETTINGS, fanSpeed];

test('a new entry is in the JSON Schema with its doc and schema', () => {
  const props = (jsonSchema(table) as { properties: Record<string, Record<string, unknown>> }).properties;
  assert.deepEqual(props.fanSpeed, {
    description: 'how fast the build machine spins its fans',
    type: 'integer',
    minimum: 1,
    maximum: 9,
    default: 3,
  });
  assert.equal((jsonSchema() as { properties: Record<string, unknown> }).properties.fanSpeed, undefined);
});

test('a new entry is a flag of the verbs it names, mapped to its key, checked as the table says', () => {
  assert.deepEqual(parseArgsOptions('build', table)['fan-speed'], { type: 'string' });
  assert.deepEqual(parseArgsOptions('demo', table).fan, { type: 'string' });
  assert.equal(parseArgsOptions('verify', table)['fan-speed'], undefined);
  const { raw } = parseFlags('build', ['--fan-speed', '7'], table);
  assert.equal(raw.fanSpeed, '7');
  const base = { iso: '/a.iso', out: '/b.iso', engine: 'docker', images: [app] };
  assert.equal((toBuildConfig({ ...base, ...raw }, {}, { table }) as unknown as { fanSpeed: number }).fanSpeed, 7);
  assert.equal((toBuildConfig(base, {}, { table }) as unknown as { fanSpeed: number }).fanSpeed, 3, 'the default');
  assert.throws(
    () => toBuildConfig({ ...base, fanSpeed: 12 }, {}, { table }),
    (e: unknown) => e instanceof UsageError && /^fanSpeed: expected an integer from 1 to 9/.test(e.message) && /fans/.test(e.hint ?? ''),
  );
});

test('a new entry is a key a config file may hold', () => {
  const f = join(dir, 'fans.yml');
  writeFileSync(f, 'fanSpeed: 5\n');
  assert.deepEqual(readConfigFile(f, table), { fanSpeed: 5 });
  assert.throws(() => readConfigFile(f), /unknown key "fanSpeed"/);
});

test("a new entry is in the --help of each verb that takes it, with its default or the verb's own wording", () => {
  assert.match(optionsHelp('build', table), /^ {2}--fan-speed <n> +how fast the build machine spins its fans \(default 3\)$/m);
  assert.match(optionsHelp('demo', table), /^ {2}--fan <n> +fans of the demo build \(default 3\)$/m);
  assert.doesNotMatch(optionsHelp('verify', table), /fan/);
});

test('every flag of the real table is in its verb --help, and every config setting has a doc', () => {
  for (const s of SETTINGS as readonly Setting[]) {
    assert.ok(s.doc.length > 0, s.key);
    for (const [verb, flag] of Object.entries(s.flags ?? {})) {
      assert.match(optionsHelp(verb as 'build'), new RegExp(`--${flag.name}\\b`), `${verb} --${flag.name}`);
    }
  }
});
