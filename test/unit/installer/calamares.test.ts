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
