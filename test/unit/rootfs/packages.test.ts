// apt and dpkg in the root: their status-fd progress (captured from apt 2.6.1 and dpkg 1.21 on Debian bookworm).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Throttle } from '../../../src/util/progress.js';
import { DpkgProgress, aptProgress, parseAptStatus } from '../../../src/rootfs/packages.js';

/** apt-get install --reinstall -y -q -o APT::Status-Fd=3 zstd, fd 3. */
const APT_STATUS = `dlstatus:1:0.0000:Retrieving file 1 of 1
dlstatus:1:0.0000:Retrieving file 1 of 1
dlstatus:1:100.0000:Retrieving file 1 of 1
pmstatus:dpkg-exec:0.0000:Running dpkg
pmstatus:zstd:0.0000:Preparing zstd (amd64)
pmstatus:zstd:20.0000:Unpacking zstd (amd64)
pmstatus:zstd:40.0000:Installing zstd (amd64)
pmstatus:dpkg-exec:40.0000:Running dpkg
pmstatus:zstd:40.0000:Preparing to configure zstd (amd64)
pmstatus:zstd:60.0000:Configuring zstd (amd64)
pmstatus:zstd:80.0000:Installed zstd (amd64)`;

/** dpkg --status-fd 3 -i zstd_1.5.4+dfsg2-5_amd64.deb, fd 3. */
const DPKG_STATUS = `processing: upgrade: zstd
status: zstd: half-configured
status: zstd: unpacked
status: zstd: half-installed
status: man-db: triggers-pending
status: zstd: unpacked
processing: configure: zstd
status: zstd: half-configured
status: zstd: installed
processing: trigproc: man-db
status: man-db: half-configured
status: man-db: installed`;

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('apt status fd: download and install phases with their percentages', () => {
  const parsed = APT_STATUS.split('\n').map(parseAptStatus);
  assert.ok(parsed.every((p) => p !== undefined));
  assert.deepEqual(parsed[2], { kind: 'download', what: '1', pct: 100, message: 'Retrieving file 1 of 1' });
  assert.deepEqual(parsed[5], { kind: 'install', what: 'zstd', pct: 20, message: 'Unpacking zstd (amd64)' });
  assert.equal(parseAptStatus('Setting up zstd (1.5.4+dfsg2-5) ...'), undefined);
  assert.deepEqual(parseAptStatus('pmerror:/var/cache/apt/archives/x.deb:50.0000:trying to overwrite /usr/bin/x')?.kind, 'error');

  const out: string[] = [];
  // All at one instant (a fast reinstall): the first line of each phase and the download's completion show.
  const on = aptProgress((l) => out.push(l), 'apt', { now: () => 0 });
  for (const line of APT_STATUS.split('\n')) on(line);
  assert.deepEqual(out, [
    'apt: download 0 % (Retrieving file 1 of 1)',
    'apt: download 100 % (Retrieving file 1 of 1)',
    'apt: install 0 % (Running dpkg)',
  ]);
});

test('apt status fd: each step shows when the steps are spaced out', () => {
  const out: string[] = [];
  const c = clock();
  const t = new Throttle((l) => out.push(l), { now: c.now });
  for (const line of APT_STATUS.split('\n')) {
    const s = parseAptStatus(line);
    if (s?.kind === 'install') t.report(s.pct, `${s.pct} ${s.message}`);
    c.advance(300);
  }
  assert.deepEqual(out, [
    '0 Running dpkg',
    '20 Unpacking zstd (amd64)',
    '40 Installing zstd (amd64)',
    '60 Configuring zstd (amd64)',
    '80 Installed zstd (amd64)',
  ]);
});

test('dpkg status fd: unpack and configure of each package count toward the total', () => {
  const p = new DpkgProgress(1);
  const states = DPKG_STATUS.split('\n')
    .map((l) => p.feed(l))
    .filter((s) => s !== undefined);
  assert.deepEqual(states, [
    { pct: 50, action: 'unpack', pkg: 'zstd' },
    { pct: 100, action: 'configure', pkg: 'zstd' },
  ]);
  assert.deepEqual(new DpkgProgress(4).feed('processing: install: containerd'), { pct: 12.5, action: 'unpack', pkg: 'containerd' });
});
