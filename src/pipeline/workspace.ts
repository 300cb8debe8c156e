// The work directory of one build: every path derives from its root; a lock keeps two runs apart.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { sweepMounts } from '../rootfs/mounts.js';

export class Workspace {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  static forOutput(cacheDir: string, out: string): Workspace {
    const key = createHash('sha256').update(resolve(out)).digest('hex').slice(0, 12);
    return new Workspace(join(cacheDir, 'work', key));
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** Mount points */
  lowerMount(i: number) {
    return this.path('mnt', `lower${i}`);
  }
  get upper() {
    return this.path('layer', 'upper');
  }
  get overlayWork() {
    return this.path('layer', 'work');
  }
  get merged() {
    return this.path('mnt', 'root');
  }
  /** Present once a stage changed the layer since it was made: a kept layer is then no longer pristine. */
  get layerTouched() {
    return this.path('layer.touched');
  }
  get payload() {
    return this.path('payload');
  }
  get isoFiles() {
    return this.path('iso-files');
  }
  get verifyDir() {
    return this.path('verify');
  }
  get lockFile() {
    return this.path('lock');
  }

  /**
   * Create the workspace, take its lock, and undo what a killed earlier run left: mounts first,
   * then the half-built layer. Throws when another live process holds the lock.
   */
  async open(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const holder = await readFile(this.lockFile, 'utf8').catch(() => '');
    const pid = Number(holder.trim());
    if (pid && pid !== process.pid && alive(pid)) {
      throw new UsageError(`another remaster run (pid ${pid}) is using ${this.root}`, {
        hint: 'wait for it to finish, or give this build another --out or --work-dir',
      });
    }
    await sweepMounts(this.root);
    const fh = await open(this.lockFile, 'w');
    await fh.writeFile(`${process.pid}\n`);
    await fh.close();
  }

  async release(): Promise<void> {
    await sweepMounts(this.root);
    await unlink(this.lockFile).catch(() => {});
  }

  async remove(): Promise<void> {
    await sweepMounts(this.root);
    await rm(this.root, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
