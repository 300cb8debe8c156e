// skopeo's output lines (captured from skopeo 1.9.3 on Debian bookworm) and the argv of its calls.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { copyArgs, explainSkopeoFailure, inspectArgs, parseSkopeoLine } from '../../../src/images/skopeo.js';

/** skopeo --insecure-policy copy docker-archive:a.tar docker-archive:b.tar:a/b:1, stdout on a pipe. */
const SKOPEO_OUTPUT = `Getting image source signatures
Copying blob sha256:93fffe584a4b4891b9b5f321778d0ac13f72b200cfbfaf7cdef5a9aaf8930511
Copying config sha256:d6ffdf61690726372c2a9581197546e26ef6c1cb1d54a7c716e451b12b01f3af
Writing manifest to image destination
Storing signatures`;

test('skopeo lines: blobs, config and manifest are recognised', () => {
  assert.deepEqual(SKOPEO_OUTPUT.split('\n').map(parseSkopeoLine), [
    undefined,
    { what: 'blob', digest: 'sha256:93fffe584a4b4891b9b5f321778d0ac13f72b200cfbfaf7cdef5a9aaf8930511' },
    { what: 'config', digest: 'sha256:d6ffdf61690726372c2a9581197546e26ef6c1cb1d54a7c716e451b12b01f3af' },
    { what: 'manifest' },
    undefined,
  ]);
});

test('copy and inspect argv: quiet unless asked, platform, credentials by file only, plain HTTP, daemon socket', () => {
  assert.deepEqual(copyArgs({ source: 'docker://reg/a:1', dest: '/w/a.tar', ref: 'a:1' }), [
    '--insecure-policy',
    'copy',
    '--quiet',
    'docker://reg/a:1',
    'docker-archive:/w/a.tar:a:1',
  ]);
  assert.deepEqual(
    copyArgs({
      source: 'docker-daemon:a:1',
      dest: '/w/a.tar',
      ref: 'b:2',
      arch: 'amd64',
      authFile: '/run/auth.json',
      tlsVerify: false,
      daemonHost: 'unix:///run/d.sock',
      verbose: true,
    }),
    [
      '--insecure-policy',
      'copy',
      '--override-arch',
      'amd64',
      '--override-os',
      'linux',
      '--src-authfile',
      '/run/auth.json',
      '--src-tls-verify=false',
      '--src-daemon-host',
      'unix:///run/d.sock',
      'docker-daemon:a:1',
      'docker-archive:/w/a.tar:b:2',
    ],
  );
  assert.deepEqual(inspectArgs('docker://reg/a:1', { authFile: '/a.json', tlsVerify: false, arch: 'arm64' }), [
    '--insecure-policy',
    'inspect',
    '--format',
    '{{.Digest}}',
    '--override-arch',
    'arm64',
    '--override-os',
    'linux',
    '--authfile',
    '/a.json',
    '--tls-verify=false',
    'docker://reg/a:1',
  ]);
});

test('explainSkopeoFailure: credentials, a missing image, an unreachable or plain-HTTP registry; the rest is not guessed', () => {
  const err = (msg: string) => `time="2026-01-01T00:00:00Z" level=fatal msg="${msg}"`;
  const denied = explainSkopeoFailure(
    'docker://reg/a:1',
    err('initializing source docker://reg/a:1: reading manifest 1 in reg/a: unauthorized: authentication required'),
  );
  assert.match(denied?.message ?? '', /^registry refused the credentials for docker:\/\/reg\/a:1$/);
  assert.match(
    explainSkopeoFailure('docker://reg/a:9', err('reading manifest 9 in reg/a: manifest unknown'))?.message ?? '',
    /^image docker:\/\/reg\/a:9 does not exist$/,
  );
  const down = explainSkopeoFailure(
    'docker://reg:5000/a:1',
    err(
      'initializing source docker://reg:5000/a:1: pinging container registry reg:5000: Get "https://reg:5000/v2/": dial tcp 10.0.0.1:5000: connect: connection refused',
    ),
  );
  assert.match(down?.message ?? '', /^registry for docker:\/\/reg:5000\/a:1 is unreachable: pinging container registry/);
  const http = explainSkopeoFailure(
    'docker://reg:5000/a:1',
    err('pinging container registry reg:5000: Get "https://reg:5000/v2/": http: server gave HTTP response to HTTPS client'),
  );
  assert.match(http?.hint ?? '', /tlsVerify: false/);
  assert.equal(explainSkopeoFailure('docker://reg/a:1', err('writing blob: no space left on device')), undefined);
});
