// Rendered files (units, scripts, engine configuration) written into a root directory.
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RootFile } from '../types.js';

/** Write files into a root directory (the layer's upper dir or a full tree), creating parents 0755. */
export async function writeRootFiles(root: string, files: readonly RootFile[]): Promise<void> {
  for (const f of files) {
    const target = join(root, f.path);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await rm(target, { force: true });
    if (f.symlink !== undefined) await symlink(f.symlink, target);
    else await writeFile(target, f.content ?? '', { mode: f.mode });
  }
}
