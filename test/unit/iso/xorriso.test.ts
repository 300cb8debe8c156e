// xorriso: argv and the parsers of its reports and write pacifier (captured from xorriso 1.5.4).
import {
  extractArgs,
  modifyArgs,
  parseReport,
  parseXorrisoPacifier,
  unquote,
  xorrisoDate,
  xorrisoProgress,
} from '../../../src/iso/xorriso.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captured } from '../../helpers/paths.js';

const synthetic = () =>
  parseReport(
    [
      captured('synthetic', 'find-report_lba.txt'),
      captured('synthetic', 'report_el_torito-plain.txt'),
      captured('synthetic', 'report_system_area-plain.txt'),
    ].join('\n'),
  );

test('parseReport reads El Torito entries from real xorriso output', () => {
  const r = synthetic();
  assert.equal(r.elTorito.catalogPath, '/isolinux/boot.cat');
  assert.deepEqual(
    r.elTorito.images.map((i) => [i.index, i.platform, i.bootable, i.loadSize, i.lba, i.path]),
    [
      [1, 'BIOS', true, 4, 757, '/isolinux/isolinux.bin'],
      [2, 'UEFI', true, 2880, 37, '/boot/grub/efi.img'],
    ],
  );
  assert.deepEqual(r.elTorito.images[0]?.options, ['boot-info-table', 'isohybrid-suitable']);
});

test('parseReport reads the system area: isohybrid MBR, GPT, EFI partition path', () => {
  const r = synthetic();
  assert.equal(r.systemArea.summary, 'MBR isohybrid cyl-align-on GPT');
  assert.equal(r.systemArea.gpt, true);
  assert.equal(r.systemArea.isoSizeBlocks512, 4096);
  assert.deepEqual(
    r.systemArea.mbr.map((p) => [p.index, p.bootable, p.type, p.start, p.blocks, p.path]),
    [
      [1, true, 0x00, 0, 4096, undefined],
      [2, false, 0xef, 148, 2880, '/boot/grub/efi.img'],
    ],
  );
});

test('parseReport lists files with LBA and size', () => {
  const r = synthetic();
  assert.equal(r.volumeId, 'TESTISO');
  assert.deepEqual(
    r.files.find((f) => f.path === '/live/filesystem.squashfs'),
    { path: '/live/filesystem.squashfs', lba: 836, bytes: 4096 },
  );
  assert.equal(r.files.length, 6);
});

test('parseReport adds up multi-extent files', () => {
  const r = parseReport(
    [
      "File data lba:  0 ,  100 , 2097151 , 4294965248 , '/big.squashfs'",
      "File data lba:  1 , 2097251 , 10 , 20480 , '/big.squashfs'",
    ].join('\n'),
  );
  assert.deepEqual(r.files, [{ path: '/big.squashfs', lba: 100, bytes: 4294965248 + 20480 }]);
});

test('unquote handles xorriso quoting of odd names', () => {
  assert.equal(unquote(`'/a b/c'`), '/a b/c');
  assert.equal(unquote(`'/it'"'"'s'`), "/it's");
});

test('modifyArgs: indev/outdev, sorted maps, boot replay last before commit', () => {
  assert.deepEqual(
    modifyArgs({
      indev: 'in.iso',
      outdev: 'out.iso',
      map: [
        { source: '/w/sha', target: '/sha256sum.txt' },
        { source: '/w/layer', target: '/live/remaster.squashfs' },
      ],
    }),
    [
      '-abort_on',
      'FAILURE',
      '-return_with',
      'SORRY',
      '32',
      '-indev',
      'in.iso',
      '-outdev',
      'out.iso',
      '-map',
      '/w/layer',
      '/live/remaster.squashfs',
      '-map',
      '/w/sha',
      '/sha256sum.txt',
      '-boot_image',
      'any',
      'replay',
      '-padding',
      'included',
      '-commit',
    ],
  );
});

test('modifyArgs fixes volume dates for SOURCE_DATE_EPOCH', () => {
  const args = modifyArgs({ indev: 'a', outdev: 'b', map: [], sourceDateEpoch: 1700000000 });
  assert.ok(args.includes('-volume_date'));
  assert.equal(args[args.indexOf('uuid') + 1], '2023111422132000');
  assert.equal(xorrisoDate(0), '1970010100000000');
  assert.deepEqual(args.slice(args.indexOf('all_file_dates') - 1, args.indexOf('all_file_dates') + 2), [
    '-volume_date',
    'all_file_dates',
    '2023111422132000',
  ]);
  // The base's volume UUID wins over SOURCE_DATE_EPOCH: GRUB may search for it.
  const keep = modifyArgs({ indev: 'a', outdev: 'b', map: [], volumeUuid: '2024010100000000', sourceDateEpoch: 1700000000 });
  assert.equal(keep[keep.indexOf('uuid') + 1], '2024010100000000');
});

test('extractArgs', () => {
  assert.deepEqual(extractArgs('x.iso', [{ from: '/md5sum.txt', to: '/tmp/m' }]), [
    '-abort_on',
    'FAILURE',
    '-osirrox',
    'on',
    '-indev',
    'x.iso',
    '-extract',
    '/md5sum.txt',
    '/tmp/m',
  ]);
});

/** xorriso -indev base.iso -outdev new.iso -map ... -boot_image any replay -commit, stderr. */
const XORRISO_UPDATES = [
  'xorriso : UPDATE :      26 nodes read in 1 seconds',
  'xorriso : UPDATE :       1 files added in 1 seconds',
  'xorriso : UPDATE : Writing:          0s    0.0%   fifo   7%  buf  50%',
  'xorriso : UPDATE : Writing:     116381s   67.7%   fifo 100%  buf  50%  285.4xD ',
  'xorriso : UPDATE :      27 nodes read in 1 seconds',
];

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
