// The verbs and the file each lives in: argv after the verb -> the exit code.
import { ExitCode, UsageError } from '../../errors.js';
import { VERSION } from '../../util/version.js';
import { helpText } from '../help.js';
import { buildCommand } from './build.js';
import { configCommand } from './config.js';
import { demoCommand } from './demo.js';
import { doctorCommand } from './doctor.js';
import { inspectCommand } from './inspect.js';
import { packagesCommand } from './packages.js';
import { schemaCommand } from './schema.js';
import { verifyCommand } from './verify.js';

type Command = (argv: string[], signal: AbortSignal) => Promise<number> | number;

export const COMMANDS: Record<string, Command> = {
  build: buildCommand,
  inspect: inspectCommand,
  verify: verifyCommand,
  packages: packagesCommand,
  doctor: doctorCommand,
  config: (argv) => configCommand(argv),
  schema: (argv) => schemaCommand(argv),
  demo: demoCommand,
};

export async function main(argv: string[], signal: AbortSignal): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') {
    process.stdout.write(helpText('main'));
    return verb === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (verb === '--version' || verb === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return ExitCode.ok;
  }
  const command = COMMANDS[verb];
  if (!command) {
    throw new UsageError(`unknown command "${verb}"`, { hint: `commands: ${Object.keys(COMMANDS).join(', ')} (remaster --help)` });
  }
  return command(rest, signal);
}
