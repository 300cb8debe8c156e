// SIGINT in the middle of the engine install: exit 130, nothing left mounted, no file at or beside --out.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { fixtureIso, mountsBelow } from '../helpers/fixture.js';
import { CLI } from '../helpers/paths.js';
import { buildArgs } from '../helpers/build-args.js';

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} during the engine install undoes every mount and leaves no output`, { timeout: 20 * 60 * 1000 }, async () => {
    const base = await fixtureIso();
    const dir = mkdtempSync(join(tmpdir(), 'remaster-int-'));
    const rootfs = join(dir, 'busybox.tar');
    await writeBusyboxRootfs(rootfs);
    const work = join(dir, 'work');
    const out = join(dir, 'out.iso');
    const child = spawn(
      process.execPath,
      [
        CLI,
        ...buildArgs({ iso: base, out, engine: 'podman', images: [`rootfs:${rootfs}=a/b:1`] }),
        '--work-dir',
        work,
        // A real install (not a cached one): the signal must land while apt runs in the chroot.
        '--no-engine-cache',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // Interrupt once apt is running inside the chroot (proc, sys, dev and the overlay are mounted).
      if (!sent && /\[STARTED\].*Install the container engine/.test(stderr)) {
        sent = true;
        setTimeout(() => child.kill(signal), 1500);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.ok(sent, `never reached the engine stage:\n${stderr}`);
    assert.equal(code, 130, stderr.slice(-2000));
    assert.match(stderr, new RegExp(`${signal} received`));
    assert.deepEqual(mountsBelow(work), []);
    assert.equal(existsSync(out), false);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('out.iso')),
      [],
    );
  });
}
