// remaster help / --help: the main text, or a verb's.
import { ExitCode } from '../../errors.js';
import { type HelpTopic, helpText } from '../help.js';

export function printHelp(topic: HelpTopic): number {
  process.stdout.write(helpText(topic));
  return ExitCode.ok;
}
