// Calamares' unpackfs.conf with the layer after the base's images.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { unpackEntries, unpackfsWithLayer } from '../../../src/installer/calamares.js';

/** As calamares-settings-debian 12 ships it. */
const DEBIAN = `# SPDX-FileCopyrightText: no
---
unpack:
    -   source: "/run/live/medium/live/filesystem.squashfs"
        sourcefs: "squashfs"
        destination: ""
`;

test('the layer is appended after the base image, from the same medium folder, to the same destination', () => {
  const doc = parse(unpackfsWithLayer(DEBIAN, '/live/remaster.squashfs')) as { unpack: unknown[] };
  assert.deepEqual(doc.unpack, [
    { source: '/run/live/medium/live/filesystem.squashfs', sourcefs: 'squashfs', destination: '' },
    { source: '/run/live/medium/live/remaster.squashfs', sourcefs: 'squashfs', destination: '' },
  ]);
  const again = unpackfsWithLayer(unpackfsWithLayer(DEBIAN, '/live/remaster.squashfs'), '/live/remaster.squashfs');
  assert.equal((parse(again) as { unpack: unknown[] }).unpack.length, 2, 'idempotent');
});

test('a file with no unpack entries is not a Calamares unpackfs.conf remaster can extend', () => {
  assert.equal(unpackEntries('unpack: []\n'), undefined);
  assert.equal(unpackEntries('other: 1\n'), undefined);
  assert.equal(unpackEntries(': : :'), undefined);
  assert.equal(unpackEntries(DEBIAN)?.length, 1);
});

test('a ready store follows the layer: docker unpacked (its ext4 image lands as a file), podman copied as one file', () => {
  const entries = (engine: 'docker' | 'podman') =>
    (parse(unpackfsWithLayer(DEBIAN, '/live/remaster.squashfs', { isoPath: '/remaster/store.squashfs', engine })) as { unpack: unknown[] })
      .unpack;
  assert.deepEqual(entries('docker')[2], {
    source: '/run/live/medium/remaster/store.squashfs',
    sourcefs: 'squashfs',
    destination: '/var/lib/remaster/installed-store',
  });
  // unpackfs' rsync filters out trusted.overlay.*, which podman's layers need: the squashfs itself goes to the disk.
  assert.deepEqual(entries('podman')[2], {
    source: '/run/live/medium/remaster/store.squashfs',
    sourcefs: 'file',
    destination: '/var/lib/remaster/installed-store',
  });
});
