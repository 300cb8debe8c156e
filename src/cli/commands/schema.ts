// remaster schema: the JSON Schema of remaster.yml, from the settings table.
import { jsonSchema } from '../../config/schema.js';
import { ExitCode } from '../../errors.js';
import { printHelp } from './help.js';

export function schemaCommand(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) return printHelp('schema');
  process.stdout.write(`${JSON.stringify(jsonSchema(), null, 2)}\n`);
  return ExitCode.ok;
}
