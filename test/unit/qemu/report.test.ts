import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareImages, normaliseImageId, normaliseRef, parseGuestReport } from '../../../src/qemu/report.js';

const HEX_A = 'a'.repeat(64);
const HEX_B = 'b'.repeat(64);

const dockerReport = [
  'remaster-report 1',
  'engine docker',
  'engine-version 20.10.24+dfsg1',
  'loader-result success',
  'loader-exit 0',
  `image demo/busybox:1.0 sha256:${HEX_A}`,
  `image alpine:3.20 sha256:${HEX_B}`,
  'journal Loaded image: demo/busybox:1.0',
  'journal ',
  'end',
  '',
].join('\n');

test('parseGuestReport: a complete docker report', () => {
  assert.deepEqual(parseGuestReport(dockerReport), {
    version: 1,
    engine: 'docker',
    engineVersion: '20.10.24+dfsg1',
    loaderResult: 'success',
    loaderExit: 0,
    images: [
      { ref: 'demo/busybox:1.0', id: `sha256:${HEX_A}` },
      { ref: 'alpine:3.20', id: `sha256:${HEX_B}` },
    ],
    failedUnits: [],
    journal: ['Loaded image: demo/busybox:1.0', ''],
    extra: [],
    complete: true,
  });
});

test('parseGuestReport: podman ids without sha256:, CRLF, failed units, unknown kinds', () => {
  const text = [
    'remaster-report 1',
    'engine podman',
    'engine-version 4.3.1',
    'loader-result exit-code',
    'loader-exit 125',
    `image localhost/demo/busybox:1.0 ${HEX_A.toUpperCase()}`,
    'failed-unit remaster-load.service',
    'failed-unit other.service',
    'uptime 42.1',
    'journal Error: payload not found',
    'end',
  ].join('\r\n');
  const r = parseGuestReport(text);
  assert.ok(r);
  assert.equal(r.engine, 'podman');
  assert.equal(r.loaderResult, 'exit-code');
  assert.equal(r.loaderExit, 125);
  assert.deepEqual(r.images, [{ ref: 'localhost/demo/busybox:1.0', id: `sha256:${HEX_A}` }]);
  assert.deepEqual(r.failedUnits, ['remaster-load.service', 'other.service']);
  assert.deepEqual(r.journal, ['Error: payload not found']);
  assert.deepEqual(r.extra, ['uptime 42.1']);
  assert.equal(r.complete, true);
});

test('parseGuestReport: truncated report (no end line) is incomplete', () => {
  const cut = dockerReport.slice(0, dockerReport.indexOf('journal'));
  const r = parseGuestReport(cut);
  assert.ok(r);
  assert.equal(r.complete, false);
  assert.equal(r.images.length, 2);
  // a half-written last line is not taken for "end"
  assert.equal(parseGuestReport('remaster-report 1\nengine docker\nen')?.complete, false);
});

test('parseGuestReport: no header means no report', () => {
  assert.equal(parseGuestReport(''), undefined);
  assert.equal(parseGuestReport('\u0000\u0000garbage\nend\n'), undefined);
  assert.equal(parseGuestReport('engine docker\nend\n'), undefined);
  assert.equal(parseGuestReport('remaster-reports 1\nend'), undefined);
});

test('parseGuestReport: garbage around a report, malformed lines go to extra', () => {
  const r = parseGuestReport(
    ['\u0000\u0000noise', 'remaster-report 1', 'engine lxc', 'loader-exit lots', 'image onlyref', 'end', 'trailing'].join('\n'),
  );
  assert.ok(r);
  assert.equal(r.engine, undefined);
  assert.equal(r.loaderExit, undefined);
  assert.deepEqual(r.images, []);
  assert.deepEqual(r.extra, ['engine lxc', 'loader-exit lots', 'image onlyref']);
  assert.equal(r.complete, true);
});

test('parseGuestReport: the last header wins when the report was written twice', () => {
  const r = parseGuestReport(`remaster-report 1\nengine docker\n${dockerReport.replace('engine docker', 'engine podman')}`);
  assert.equal(r?.engine, 'podman');
  assert.equal(r?.complete, true);
});

test('normaliseImageId / normaliseRef', () => {
  assert.equal(normaliseImageId(HEX_A), `sha256:${HEX_A}`);
  assert.equal(normaliseImageId(`SHA256:${HEX_A.toUpperCase()}`), `sha256:${HEX_A}`);
  assert.equal(normaliseRef('docker.io/library/alpine:3.20'), 'alpine:3.20');
  assert.equal(normaliseRef('docker.io/foo/bar:1'), 'foo/bar:1');
  assert.equal(normaliseRef('localhost/demo/busybox:1.0'), 'demo/busybox:1.0');
  assert.equal(normaliseRef('alpine'), 'alpine:latest');
  assert.equal(normaliseRef('registry:5000/x'), 'registry:5000/x:latest');
  assert.equal(normaliseRef('quay.io/a/b@sha256:abc'), 'quay.io/a/b@sha256:abc');
  assert.equal(normaliseRef('library/alpine:1'), 'alpine:1');
});

test('compareImages: docker and podman spellings of the same refs match', () => {
  const docker = parseGuestReport(dockerReport);
  assert.ok(docker);
  const expected = [{ ref: 'demo/busybox:1.0', id: `sha256:${HEX_A}` }, { ref: 'docker.io/library/alpine:3.20' }];
  assert.deepEqual(compareImages(docker, expected), { missing: [], wrongId: [], ok: true });

  const podman = parseGuestReport(
    `remaster-report 1\nengine podman\nimage localhost/demo/busybox:1.0 ${HEX_A}\nimage docker.io/library/alpine:3.20 ${HEX_B}\nend\n`,
  );
  assert.ok(podman);
  assert.deepEqual(compareImages(podman, expected), { missing: [], wrongId: [], ok: true });
});

test('compareImages: missing and wrong ids', () => {
  const r = parseGuestReport(dockerReport);
  assert.ok(r);
  const result = compareImages(r, [
    { ref: 'demo/busybox:1.0', id: HEX_B },
    { ref: 'nginx:1.27' },
    { ref: 'alpine:3.20', id: HEX_B.slice(0, 12) },
  ]);
  assert.deepEqual(result, {
    missing: ['nginx:1.27'],
    wrongId: [{ ref: 'demo/busybox:1.0', expected: `sha256:${HEX_B}`, actual: `sha256:${HEX_A}` }],
    ok: false,
  });
});

test('compareImages: an empty expectation is ok, a too-short id prefix is not a match', () => {
  const r = parseGuestReport(dockerReport);
  assert.ok(r);
  assert.equal(compareImages(r, []).ok, true);
  assert.equal(compareImages(r, [{ ref: 'alpine:3.20', id: 'bbbb' }]).ok, false);
});
