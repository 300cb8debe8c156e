// Preseed merging: later parts win, the user's late_command survives, remaster's commands come after it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lateCommand, mergePreseed, preseedLines, recommendsOff } from '../../../src/installer/preseed.js';

const medium = 'd-i debian-installer/locale string en_US\nd-i preseed/late_command string echo medium\n';
const user = [
  '# site answers',
  'd-i netcfg/get_hostname string plant-7',
  'd-i preseed/late_command string in-target sh -c \\',
  '    "echo site > /etc/site"',
  '',
].join('\n');

test('logical lines join backslash continuations', () => {
  assert.deepEqual(preseedLines(user).slice(2, 3), ['d-i preseed/late_command string in-target sh -c \\\n    "echo site > /etc/site"']);
  assert.equal(lateCommand(user), 'in-target sh -c \\\n    "echo site > /etc/site"');
  assert.equal(lateCommand('d-i netcfg/get_hostname string x\n'), undefined);
});

test("the user's late_command replaces the medium's (d-i semantics) and remaster's run after it", () => {
  const merged = mergePreseed(
    [
      { source: 'initrd', text: medium },
      { source: 'site.cfg', text: user },
    ],
    ['in-target dpkg -i /media/remaster/*.deb'],
  );
  assert.match(merged, /^d-i netcfg\/get_hostname string plant-7$/m);
  assert.match(merged, /^d-i debian-installer\/locale string en_US$/m);
  const late = merged.split('\n').filter((l) => l.includes('preseed/late_command'));
  assert.equal(late.length, 1, 'one late_command, not two that override each other');
  assert.equal(lateCommand(merged), 'in-target sh -c \\\n    "echo site > /etc/site"; \\\n  in-target dpkg -i /media/remaster/*.deb');
  assert.doesNotMatch(merged, /echo medium/);
});

test('no late commands at all: none is written; nothing given: only the answers', () => {
  const merged = mergePreseed([{ source: 'site.cfg', text: 'd-i passwd/root-login boolean false\n' }]);
  assert.doesNotMatch(merged, /late_command/);
  assert.match(merged, /^d-i passwd\/root-login boolean false$/m);
});

test('recommendsOff: the last base-installer/install-recommends answer decides; none means on', () => {
  assert.equal(recommendsOff('d-i base-installer/install-recommends boolean false\n'), true);
  assert.equal(
    recommendsOff('d-i base-installer/install-recommends boolean false\nd-i base-installer/install-recommends boolean true\n'),
    false,
  );
  assert.equal(recommendsOff('# d-i base-installer/install-recommends boolean false\nd-i netcfg/enable boolean false\n'), false);
  assert.equal(recommendsOff(''), false);
});
