import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initrdCommands, missingCommands } from '../../../src/installer/replay.js';

test('initrdCommands: the files in bin and sbin folders, merged-/usr or not, with or without ./', () => {
  assert.deepEqual(
    initrdCommands([
      'bin',
      'usr/bin',
      'usr/bin/tar',
      'usr/sbin/losetup',
      './bin/mount',
      'sbin/udpkg',
      'usr/bin/tar',
      'usr/lib/live-installer.d/remaster',
      'usr/bin/nested/not-a-command',
      'etc/bin/x',
    ]),
    ['losetup', 'mount', 'tar', 'udpkg'],
  );
});

test('missingCommands: what dash and busybox ash report as not found, once each', () => {
  assert.deepEqual(
    missingCommands('/w/d-i/hook: 53: du: not found\nsh: stat: not found\n/w/d-i/hook: 60: du: not found\ntar: ./x: Cannot open\n'),
    ['du', 'stat'],
  );
  assert.deepEqual(missingCommands('remaster: copied 3 entries\n'), []);
});
