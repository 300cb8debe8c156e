// The root a netinst installs: which pool files debootstrap needs, read from the medium's Packages index.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { installRootSources, poolFiles } from '../../../src/rootfs/install-root.js';

const INDEX = `Package: base-files
Version: 13.8
Filename: pool/main/b/base-files/base-files_13.8_amd64.deb

Package: dpkg
Version: 1.22.21
Filename: pool/main/d/dpkg/dpkg_1.22.21_amd64.deb

Package: grub-pc
Filename: pool/main/g/grub2/grub-pc_2.12-9_amd64.deb
`;

test('poolFiles: the pool file of each wanted package, nothing else; a package the index lacks is not there', () => {
  const files = poolFiles(INDEX, new Set(['base-files', 'dpkg', 'libc6']));
  assert.deepEqual(Object.fromEntries(files), {
    'base-files': 'pool/main/b/base-files/base-files_13.8_amd64.deb',
    dpkg: 'pool/main/d/dpkg/dpkg_1.22.21_amd64.deb',
  });
});

test("the root's apt source is the mirror, for the engine (the base came from the medium)", () => {
  assert.match(installRootSources('http://deb.debian.org/debian', 'trixie'), /^deb http:\/\/deb\.debian\.org\/debian trixie main$/m);
});
