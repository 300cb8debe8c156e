// The engine stage's file names for a netinst medium: apt's own names for the versions it resolved.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { debFileNames } from '../../../src/pipeline/engine-install.js';

test("debFileNames: apt's name_version_arch.deb, the epoch's colon as %3a, arch-independent packages as _all", () => {
  assert.deepEqual(debFileNames('docker.io=26.1.5+dfsg1-9+b9', 'amd64'), [
    'docker.io_26.1.5+dfsg1-9+b9_amd64.deb',
    'docker.io_26.1.5+dfsg1-9+b9_all.deb',
  ]);
  assert.deepEqual(debFileNames('iptables=1:1.8.11-2', 'amd64')[0], 'iptables_1%3a1.8.11-2_amd64.deb');
});
