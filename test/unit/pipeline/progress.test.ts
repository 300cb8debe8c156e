// Progress parsers, fed with lines captured from the real tools on Debian bookworm (squashfs-tools 4.5.1,
// xorriso 1.5.4, apt 2.6.1, dpkg 1.21, skopeo 1.9.3), and the throttle that keeps them to a few lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSkopeoLine } from '../../../src/images/skopeo.js';
import { LineSplitter } from '../../../src/exec/trace.js';
import { Throttle } from '../../../src/util/progress.js';
import { parseSquashfsBar, squashfsProgress } from '../../../src/rootfs/squashfs.js';
import { parseXorrisoPacifier, xorrisoProgress } from '../../../src/iso/xorriso.js';
import { DpkgProgress, aptProgress, parseAptStatus } from '../../../src/rootfs/packages.js';

/** `unsquashfs -d y -processors 1 o.sqfs` with stdout on a pipe: the bar redraws with \r, no newline. */
const UNSQUASHFS_OUTPUT =
  'Parallel unsquashfs: Using 1 processor\n4798 inodes (5659 blocks) to write\n\n\r[===========/                                                ]  2096/10457  20%\r[===================-                                        ]  3388/10457  32%\r[===========================\\                                ]  4835/10457  46%\r[===================================|                        ]  6262/10457  59%\r[=======================================/                    ]  7048/10457  67%\r[=============================================-              ]  8110/10457  77%\r[====================================================\\       ]  9218/10457  88%\r[===========================================================\\] 10457/10457 100%\n\ncreated 4717 files\ncreated 952 directories\ncreated 81 symlinks\ncreated 0 devices\ncreated 0 fifos\ncreated 0 sockets\ncreated 0 hardlinks\n';

/** mksquashfs on a pseudo-terminal (script -qec "stty cols 100; mksquashfs ..."): first, a middle and the last bar. */
const MKSQUASHFS_BARS = [
  '[/                                                                                 ]   41/5659   0%',
  '[=======================================================================/          ] 4977/5659  87%',
  '[=================================================================================/] 5659/5659 100%',
];

/** xorriso -indev base.iso -outdev new.iso -map ... -boot_image any replay -commit, stderr. */
const XORRISO_UPDATES = [
  'xorriso : UPDATE :      26 nodes read in 1 seconds',
  'xorriso : UPDATE :       1 files added in 1 seconds',
  'xorriso : UPDATE : Writing:          0s    0.0%   fifo   7%  buf  50%',
  'xorriso : UPDATE : Writing:     116381s   67.7%   fifo 100%  buf  50%  285.4xD ',
  'xorriso : UPDATE :      27 nodes read in 1 seconds',
];

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

/** skopeo --insecure-policy copy docker-archive:a.tar docker-archive:b.tar:a/b:1, stdout on a pipe. */
const SKOPEO_OUTPUT = `Getting image source signatures
Copying blob sha256:93fffe584a4b4891b9b5f321778d0ac13f72b200cfbfaf7cdef5a9aaf8930511
Copying config sha256:d6ffdf61690726372c2a9581197546e26ef6c1cb1d54a7c716e451b12b01f3af
Writing manifest to image destination
Storing signatures`;

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('squashfs bars: unsquashfs output split on \\r gives every redraw, in order', () => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l), true);
  // Arbitrary chunk boundaries, as a pipe delivers them.
  for (let i = 0; i < UNSQUASHFS_OUTPUT.length; i += 37) s.push(Buffer.from(UNSQUASHFS_OUTPUT.slice(i, i + 37)));
  s.end();
  const bars = lines.map(parseSquashfsBar).filter((b) => b !== undefined);
  assert.deepEqual(
    bars.map((b) => b.pct),
    [20, 32, 46, 59, 67, 77, 88, 100],
  );
  assert.deepEqual(bars[0], { done: 2096, total: 10457, pct: 20 });
  assert.ok(lines.includes('created 4717 files'), 'ordinary lines still come through');
});

test('squashfs bars: mksquashfs on a terminal', () => {
  assert.deepEqual(MKSQUASHFS_BARS.map(parseSquashfsBar), [
    { done: 41, total: 5659, pct: 0 },
    { done: 4977, total: 5659, pct: 87 },
    { done: 5659, total: 5659, pct: 100 },
  ]);
  assert.equal(parseSquashfsBar('Parallel mksquashfs: Using 1 processor'), undefined);
  assert.equal(parseSquashfsBar('\t60.89% of uncompressed filesystem size (172765.13 Kbytes)'), undefined);
});

test('squashfsProgress swallows bar lines and reports throttled percentages', () => {
  const out: string[] = [];
  const on = squashfsProgress((l) => out.push(l), 'mksquashfs', { now: () => 0 });
  assert.equal(on('Parallel mksquashfs: Using 1 processor'), false);
  for (const bar of MKSQUASHFS_BARS) assert.equal(on(bar), true);
  assert.deepEqual(out, ['mksquashfs: 0 % (41/5659 blocks)', 'mksquashfs: 100 % (5659/5659 blocks)'], '87 % came too soon after 0 %');
});

test('xorriso pacifier: only the Writing lines carry a percentage', () => {
  assert.deepEqual(XORRISO_UPDATES.map(parseXorrisoPacifier), [
    undefined,
    undefined,
    { sectors: 0, pct: 0 },
    { sectors: 116381, pct: 67.7 },
    undefined,
  ]);
  const out: string[] = [];
  // xorriso paces its pacifier at one line a second.
  let t = 0;
  const on = xorrisoProgress((l) => out.push(l), 'xorriso', { now: () => (t += 1000) });
  assert.deepEqual(
    XORRISO_UPDATES.map((l) => on(l)),
    [false, false, true, true, false],
  );
  assert.deepEqual(out, ['xorriso: 0 % (0.0 MiB)', 'xorriso: 67 % (227.3 MiB)']);
});

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

test('skopeo lines: blobs, config and manifest are recognised', () => {
  assert.deepEqual(SKOPEO_OUTPUT.split('\n').map(parseSkopeoLine), [
    undefined,
    { what: 'blob', digest: 'sha256:93fffe584a4b4891b9b5f321778d0ac13f72b200cfbfaf7cdef5a9aaf8930511' },
    { what: 'config', digest: 'sha256:d6ffdf61690726372c2a9581197546e26ef6c1cb1d54a7c716e451b12b01f3af' },
    { what: 'manifest' },
    undefined,
  ]);
});

test('Throttle: a whole percent after 250 ms, or any change after 2 s; 100 always', () => {
  const out: string[] = [];
  const c = clock();
  const t = new Throttle((l) => out.push(l), { now: c.now });
  assert.equal(t.report(0, 'a 0'), true, 'the first report shows');
  c.advance(100);
  assert.equal(t.report(5, 'a 5'), false, 'too soon after the last line');
  c.advance(200);
  assert.equal(t.report(5.5, 'a 5.5'), true, 'moved >= 1 % and 300 ms passed');
  c.advance(1000);
  assert.equal(t.report(6.0, 'a 6.0'), false, 'less than 1 % and less than 2 s');
  c.advance(1000);
  assert.equal(t.report(6.1, 'a 6.1'), true, '2 s passed and the line changed');
  c.advance(5000);
  assert.equal(t.report(6.1, 'a 6.1'), false, 'nothing changed: nothing to say');
  assert.equal(t.report(100, 'a 100'), true, 'completion always shows');
  assert.equal(t.report(100, 'a 100'), false, 'once');
  assert.deepEqual(out, ['a 0', 'a 5.5', 'a 6.1', 'a 100']);
});

test('a bar per redraw over 10 s of real time gives at most one line per percent', () => {
  const out: string[] = [];
  const c = clock();
  const t = new Throttle((l) => out.push(l), { now: c.now });
  // 4 redraws a second (mksquashfs), 0.1 % per redraw.
  for (let i = 0; i <= 400; i++) {
    t.report(i / 4, `p ${Math.floor(i / 4)}`);
    c.advance(250);
  }
  assert.ok(out.length <= 101, `${out.length} lines`);
  const pcts = out.map((l) => Number(l.split(' ')[1]));
  assert.deepEqual(
    pcts,
    [...pcts].sort((a, b) => a - b),
    'increasing',
  );
  assert.equal(pcts.at(-1), 100);
});
