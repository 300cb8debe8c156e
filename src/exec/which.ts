// Find executables on PATH without running them.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export async function which(tool: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  const dirs = [...path.split(delimiter), '/usr/sbin', '/sbin'].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, tool);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}
