// The JSON Schema of remaster.yml / remaster.json, derived from the settings table, for editors
// (yaml-language-server, VS Code) and `remaster schema`.
import { SETTINGS, type JsonSchema, type Setting } from './settings.js';

export function jsonSchema(table: readonly Setting[] = SETTINGS): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const s of table) if (s.schema) properties[s.key] = { description: s.doc, ...s.schema };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://remaster.invalid/remaster.schema.json',
    title: 'remaster build configuration',
    type: 'object',
    additionalProperties: false,
    // One build names its essentials at the top; a variants file may leave them to its entries.
    anyOf: [
      { required: table.filter((s) => s.schema && s.required).map((s) => s.key) },
      ...table.filter((s) => s.expands).map((s) => ({ required: [s.key] })),
    ],
    properties,
  };
}
