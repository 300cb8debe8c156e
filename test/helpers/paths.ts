// Paths shared by tests: the repository root and captured tool output.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/helpers -> repository root */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(REPO, 'dist/src/cli/main.js');

export function captured(...parts: string[]): string {
  return readFileSync(join(REPO, 'test/fixtures/output', ...parts), 'utf8');
}

/** The commands in Debian 13's d-i initrd (captured): what a live-installer hook may call. */
export function diCommands(): string[] {
  return captured('d-i', 'commands.txt')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
}
