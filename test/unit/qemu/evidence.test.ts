import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { junitXml, runName, serialTail, writeEvidenceIndex, xmlAttr, xmlText } from '../../../src/qemu/evidence.js';

const pass = { firmware: 'bios', media: 'cdrom', ok: true, durationSeconds: 71.3, serialTail: ['debian-live login:'] };
const fail = {
  firmware: 'uefi',
  media: 'usb',
  ok: false,
  durationSeconds: 19.25,
  diagnosis: 'the firmware found nothing bootable: "Boot0001 <DVD> & co"\nsecond line',
  diagnosisKind: 'no-bootable-device',
  serialTail: ['BdsDxe: failed to load Boot0001 <x> & "y"', 'Shell>\x07\x1b'],
};

test('runName: firmware-media', () => {
  assert.equal(runName('uefi', 'usb'), 'uefi-usb');
});

test('xmlText escapes markup and makes control characters visible', () => {
  assert.equal(xmlText('a < b && c > d'), 'a &lt; b &amp;&amp; c &gt; d');
  assert.equal(xmlText('bell\x07 esc\x1b nul\x00 tab\tnl\n'), 'bell\\x07 esc\\x1b nul\\x00 tab\tnl\n');
  assert.equal(xmlText('bad \ufffe \ud800 ok \ud83d\ude00'), 'bad \\ufffe \\ud800 ok \ud83d\ude00');
});

test('xmlAttr also escapes quotes and keeps line breaks as character references', () => {
  assert.equal(xmlAttr(`say "hi" & 'bye'\n\tx\r`), 'say &quot;hi&quot; &amp; &apos;bye&apos;&#10;&#9;x&#13;');
});

test('junitXml: one suite, one testcase per run, failure = diagnosis, system-out = serial tail', () => {
  const xml = junitXml([pass, fail], { timestamp: '2024-01-01T00:00:00.000Z', properties: { iso: '/x/a&b.iso' } });
  assert.match(
    xml,
    /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="remaster-verify" tests="2" failures="1" errors="0" time="90.550">/,
  );
  assert.equal(xml.match(/<testsuite /g)?.length, 1);
  assert.match(
    xml,
    /<testsuite name="remaster-verify" tests="2" failures="1" errors="0" skipped="0" time="90.550" timestamp="2024-01-01T00:00:00.000Z">/,
  );
  assert.match(xml, /<property name="iso" value="\/x\/a&amp;b.iso"\/>/);
  assert.match(
    xml,
    /<testcase classname="remaster-verify" name="bios-cdrom" time="71.300">\n {6}<system-out>debian-live login:<\/system-out>\n {4}<\/testcase>/,
  );
  assert.match(
    xml,
    /<failure message="the firmware found nothing bootable: &quot;Boot0001 &lt;DVD&gt; &amp; co&quot;&#10;second line" type="no-bootable-device">the firmware found nothing bootable: "Boot0001 &lt;DVD&gt; &amp; co"\nsecond line<\/failure>/,
  );
  assert.match(xml, /<system-out>BdsDxe: failed to load Boot0001 &lt;x&gt; &amp; "y"\nShell&gt;\\x07\\x1b<\/system-out>/);
  // Nothing XML 1.0 forbids made it into the document.
  assert.doesNotMatch(xml, /[\x00-\x08\x0b\x0c\x0e-\x1f]/);
  assert.equal(xml.match(/<testcase /g)?.length, 2);
  assert.equal(xml.match(/<\/testcase>/g)?.length, 2);
});

test('junitXml: no runs, and a failure without a diagnosis', () => {
  assert.match(junitXml([]), /tests="0" failures="0"/);
  const xml = junitXml([{ firmware: 'bios', media: 'cdrom', ok: false, durationSeconds: 1 }]);
  assert.match(xml, /<failure message="verification failed without a diagnosis" type="verification-failed">/);
  assert.match(xml, /<system-out\/>/);
});

test('serialTail: last n non-empty lines, terminal codes removed', () => {
  const log = `${Array.from({ length: 60 }, (_, i) => `line ${i}\r`).join('\n')}\n\n\x1b[1;37mBOOT FAILED!\x1b[0m\r\n(initramfs) \x1b[6n`;
  const tail = serialTail(log, 50);
  assert.equal(tail.length, 50);
  assert.equal(tail[0], 'line 12');
  assert.deepEqual(tail.slice(-2), ['BOOT FAILED!', '(initramfs)']);
  assert.deepEqual(serialTail(''), []);
});

const dir = mkdtempSync(join(tmpdir(), 'remaster-evidence-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('writeEvidenceIndex writes verify.json and junit.xml at the top', async () => {
  const paths = await writeEvidenceIndex(dir, { ok: false, iso: '/x.iso', outcomes: [pass, fail] }, { outcomes: [pass, fail] });
  assert.deepEqual(paths, { json: join(dir, 'verify.json'), junit: join(dir, 'junit.xml') });
  const json = JSON.parse(readFileSync(paths.json, 'utf8')) as { ok: boolean; outcomes: { firmware: string; media: string }[] };
  assert.equal(json.ok, false);
  assert.deepEqual(
    json.outcomes.map((o) => runName(o.firmware, o.media)),
    ['bios-cdrom', 'uefi-usb'],
  );
  assert.match(readFileSync(paths.junit, 'utf8'), /name="uefi-usb"/);
});
