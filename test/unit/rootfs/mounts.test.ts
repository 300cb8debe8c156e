import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMountPath, mountArgs, mountsUnder, parseMountinfo } from '../../../src/rootfs/mounts.js';

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
