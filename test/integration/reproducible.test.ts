// Same inputs + SOURCE_DATE_EPOCH = the same ISO, byte for byte (engine from apt, a rootfs image, layer mode).
// The second build runs with --verbose: it must not change a byte, and its log shows every tool's progress.
// The builds share nothing but the base ISO (separate caches: no image archive or .deb reused).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { writeBusyboxRootfs } from '../../src/fixture/busybox-rootfs.js';
import { cli, fixtureIso } from '../helpers/fixture.js';
import { assertVerboseBuildLog } from '../helpers/progress.js';
import { buildArgs } from '../helpers/build-args.js';

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

test('two builds with SOURCE_DATE_EPOCH give byte-identical ISOs', { timeout: 20 * 60 * 1000 }, async () => {
  const base = await fixtureIso();
  const dir = mkdtempSync(join(tmpdir(), 'remaster-repro-'));
  const rootfs = join(dir, 'rootfs.tar');
  await writeBusyboxRootfs(rootfs, { mtime: 0 });
  const sums: string[] = [];
  for (const n of [1, 2]) {
    const out = join(dir, `out${n}.iso`);
    const log = join(dir, `build${n}.log`);
    const r = cli(
      [
        ...buildArgs({ iso: base, out, images: [`rootfs:${rootfs}=demo/busybox:1.0`] }),
        // Each build its own cache: the second must compress the image again (no archive reused), or the
        // comparison would not cover compression.
        '--cache-dir',
        join(dir, `cache${n}`),
        n === 1 ? '-q' : '--verbose',
        '--log-file',
        log,
      ],
      {
        SOURCE_DATE_EPOCH: '1700000000',
      },
    );
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    sums.push(await sha256(out));
    // --quiet silences the terminal, not the log file.
    const text = readFileSync(log, 'utf8');
    if (n === 1) assert.equal(r.stderr, '', '--quiet');
    else assertVerboseBuildLog(text, r.stderr);
    assert.match(text, /^\S+Z start Preflight/m);
    assert.match(text, /^\S+Z skip {2}Boot the ISO in QEMU.*: verification off/m);
    assert.match(text, /^\S+Z done {2}Publish the ISO \([\d.]+ s\)$/m);
  }
  assert.equal(sums[0], sums[1]);
});
