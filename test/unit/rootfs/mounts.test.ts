import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMountPath, mountArgs, mountsUnder, parseMountinfo } from '../../../src/rootfs/mounts.js';
import { overlayOptions, squashfsInIsoOptions } from '../../../src/stages/rootfs.js';

const MOUNTINFO = `22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw
90 22 7:0 / /w/mnt/lower0 ro,noatime - squashfs /dev/loop0 ro
91 22 0:50 / /w/mnt/root rw - overlay remaster rw,lowerdir=/w/mnt/lower0
92 91 0:5 / /w/mnt/root/proc rw - proc proc rw
93 91 0:6 / /w/mnt/root/dev rw - devtmpfs udev rw
94 93 0:7 / /w/mnt/root/dev/pts rw - devpts devpts rw
95 22 0:51 / /w/odd\\040name rw - tmpfs tmpfs rw
`;

test('parseMountinfo decodes escaped mount points', () => {
  assert.deepEqual(parseMountinfo(MOUNTINFO), [
    '/',
    '/w/mnt/lower0',
    '/w/mnt/root',
    '/w/mnt/root/proc',
    '/w/mnt/root/dev',
    '/w/mnt/root/dev/pts',
    '/w/odd name',
  ]);
  assert.equal(decodeMountPath('/a\\011b'), '/a\tb');
});

test('mountsUnder gives the unmount order: deepest first, never outside the dir', () => {
  const order = mountsUnder(parseMountinfo(MOUNTINFO), '/w/mnt');
  // Same depth: the later mount goes first (the overlay before the squashfs under it).
  assert.deepEqual(order, ['/w/mnt/root/dev/pts', '/w/mnt/root/dev', '/w/mnt/root/proc', '/w/mnt/root', '/w/mnt/lower0']);
  assert.deepEqual(mountsUnder(['/w/mnt2/x'], '/w/mnt'), []);
});

test('mountArgs', () => {
  assert.deepEqual(mountArgs({ source: 'a.iso', target: '/t', type: 'squashfs', options: ['loop', 'ro'] }), [
    '-t',
    'squashfs',
    '-o',
    'loop,ro',
    'a.iso',
    '/t',
  ]);
  assert.deepEqual(mountArgs({ source: '/dev', target: '/r/dev', bind: true }), ['--bind', '/dev', '/r/dev']);
});

test('a squashfs inside an ISO is mounted by offset and size, no iso9660 needed', () => {
  assert.deepEqual(squashfsInIsoOptions({ lba: 1407, bytes: 190615552 }), ['loop', 'ro', 'offset=2881536', 'sizelimit=190615552']);
});

test('overlay options keep the upper self-contained (no redirects, no metacopy)', () => {
  assert.deepEqual(overlayOptions(['/top', '/bottom'], '/u', '/w'), [
    'lowerdir=/top:/bottom',
    'upperdir=/u',
    'workdir=/w',
    'redirect_dir=off',
    'index=off',
    'metacopy=off',
    'xino=off',
  ]);
});
