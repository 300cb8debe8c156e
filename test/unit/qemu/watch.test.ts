// The boot watcher on captured serial logs with a fake clock: the actions it asks for, in order, and why it ends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BootWatch, FATAL_SETTLE_MS, MENU_SHOT, STALL_MS, type WatchAction, type WatchInput } from '../../../src/qemu/watch.js';
import { diagnoseInstall, installerProgressText, installerStep, waitingOn } from '../../../src/verify/install.js';
import { fixture } from './fixtures.js';

const quiet = { firmware: '', serial: '', reportComplete: false, exited: false };
const look = (nowMs: number, more: Partial<WatchInput> = {}): WatchInput => ({ nowMs, ...quiet, ...more });
const kinds = (actions: WatchAction[]) =>
  actions.filter((a) => a.kind !== 'say').map((a) => (a.kind === 'screenshot' ? `screenshot ${a.which}` : a.kind));

test('a BIOS boot: the menu picture and Enter once the menu shows, the final picture at the report, quit when it never powers off', () => {
  const w = new BootWatch({ accel: 'tcg', timeoutMs: 600_000, powerOffGraceMs: 20_000, pressEnterAtMenu: true });
  const serial = fixture('debian-live-bios.serial.log');
  const kernelAt = serial.indexOf('Linux version');
  // SeaBIOS's banner at 0.1 s, the isolinux menu (before the kernel) at 2 s.
  assert.deepEqual(kinds(w.step(look(100, { firmware: fixture('seabios-boot.firmware.log') }))), []);
  assert.deepEqual(kinds(w.step(look(2000, { serial: serial.slice(0, kernelAt) }))), []);
  assert.deepEqual(kinds(w.step(look(2000 + MENU_SHOT.tcg.afterMenuMs - 1))), [], 'not before the menu has been drawn');
  assert.deepEqual(kinds(w.step(look(2000 + MENU_SHOT.tcg.afterMenuMs))), ['screenshot boot-menu', 'press-enter']);
  assert.deepEqual(kinds(w.step(look(9000, { serial: serial.slice(kernelAt) }))), [], 'the menu is captured once');
  assert.equal(w.tracker.lastPhase(), 'userspace');
  assert.equal(w.state, 'booting');
  assert.deepEqual(kinds(w.step(look(60_000, { reportComplete: true }))), ['screenshot final']);
  assert.equal(w.state, 'reported');
  assert.equal(w.reportedAtMs, 60_000);
  assert.deepEqual(kinds(w.step(look(70_000))), []);
  assert.deepEqual(kinds(w.step(look(80_001))), ['stop']);
  assert.deepEqual(w.end, { why: 'no-power-off' });
  assert.deepEqual(w.step(look(90_000)), [], 'nothing after the end');
});

test('the guest powers off after its report: watching ends as exited, with no stop', () => {
  const w = new BootWatch({ accel: 'kvm', timeoutMs: 60_000, powerOffGraceMs: 5000 });
  w.step(look(1000, { serial: fixture('debian-live-bios.serial.log') }));
  assert.deepEqual(kinds(w.step(look(20_000, { reportComplete: true, exited: true }))), []);
  assert.deepEqual(w.end, { why: 'exited' });
  assert.equal(w.reportedAtMs, 20_000, 'a report that arrived with the exit still counts');
});

test('OVMF finds nothing bootable: given up once the state has held for the settle time, not before', () => {
  const w = new BootWatch({ accel: 'tcg', timeoutMs: 600_000, powerOffGraceMs: 20_000 });
  const actions: WatchAction[] = [];
  actions.push(...w.step(look(1000, { serial: fixture('ovmf-no-bootable.serial.log') })));
  let t = 1000;
  while (!w.done && t < 100_000) {
    t += 250;
    actions.push(...w.step(look(t)));
  }
  assert.deepEqual(w.end?.why, 'fatal');
  assert.ok(w.end?.why === 'fatal' && w.end.kind === 'no-bootable-device');
  assert.ok(t >= 1000 + FATAL_SETTLE_MS.tcg, `stopped at ${t} ms`);
  assert.ok(t < 1000 + FATAL_SETTLE_MS.tcg + 2000, `stopped at ${t} ms`);
  assert.deepEqual(kinds(actions).slice(-2), ['screenshot final', 'stop']);
  assert.ok(actions.some((a) => a.kind === 'say' && /^giving up after .*no-bootable-device/.test(a.line)));
});

test("a GRUB error line alone is no reason to give up (the kernel may be silent for a while); GRUB's prompt is", () => {
  const run = (serial: string) => {
    const w = new BootWatch({ accel: 'tcg', timeoutMs: 600_000, powerOffGraceMs: 20_000 });
    let t = 1000;
    w.step(look(t, { serial }));
    while (!w.done && t < 1000 + 3 * FATAL_SETTLE_MS.tcg) {
      t += 250;
      w.step(look(t));
    }
    return w;
  };
  const grub = "GNU GRUB  version 2.06\nerror: can't find command `loadfont'.\nerror: can't find command `grub_platform'.\n";
  assert.equal(run(grub).done, false, 'still watching: GRUB goes on to load the kernel');
  const stuck = run(`${grub}grub rescue> `);
  assert.ok(stuck.end?.why === 'fatal' && stuck.end.kind === 'bootloader-error');
});

test('no report by the deadline: a last picture and quit', () => {
  const w = new BootWatch({ accel: 'tcg', timeoutMs: 30_000, powerOffGraceMs: 20_000 });
  assert.deepEqual(kinds(w.step(look(29_999, { serial: 'Linux version 6.1\n' }))), []);
  assert.deepEqual(kinds(w.step(look(30_000))), ['screenshot final', 'stop']);
  assert.deepEqual(w.end, { why: 'timeout' });
});

test('a power cut lands the given delay after the loader names the image, on a captured console', () => {
  const serial = fixture('debian-live-power-cut.serial.log');
  const w = new BootWatch({
    accel: 'tcg',
    timeoutMs: 600_000,
    powerOffGraceMs: 20_000,
    powerCut: { when: /loading: fault\/b:1 from /, afterMs: 1000 },
  });
  // The console arrives in 4 KiB reads, as the file tail would give it; the line may be split between two.
  let t = 0;
  for (let at = 0; at < serial.length; at += 4096) {
    t += 250;
    assert.ok(!kinds(w.step(look(t, { serial: serial.slice(at, at + 4096) }))).includes('cut-power'), 'not at the line itself');
  }
  assert.deepEqual(kinds(w.step(look(t + 999))), []);
  assert.deepEqual(kinds(w.step(look(t + 1000))), ['screenshot final', 'cut-power']);
  assert.ok(w.end?.why === 'power-cut');
  assert.match(w.end.line, /remaster-loader\[555\]: loading: fault\/b:1 from fault_b_1-49151158\.tar\.zst$/);
});

test('a heartbeat line every 5 s between phases', () => {
  const w = new BootWatch({ accel: 'tcg', timeoutMs: 600_000, powerOffGraceMs: 20_000 });
  const says = (a: WatchAction[]) => a.flatMap((x) => (x.kind === 'say' ? [x.line] : []));
  assert.deepEqual(says(w.step(look(1000, { serial: 'Linux version 6.1\n' }))), [
    'firmware reached after 1.0 s',
    'kernel reached after 1.0 s',
    'boot menu not captured: the kernel was already running',
  ]);
  assert.deepEqual(says(w.step(look(5999))), []);
  assert.deepEqual(says(w.step(look(6000))), ['in kernel, 6 s elapsed']);
});

test('an installer run: stuck on a question with both logs silent for the stall time, it is given up; progress on the syslog keeps it going', () => {
  const console = readFileSync(
    fileURLToPath(new URL('../../../../test/fixtures/output/d-i/grub-failed.serial.log', import.meta.url)),
    'utf8',
  );
  const w = new BootWatch({ accel: 'tcg', timeoutMs: 3_600_000, powerOffGraceMs: 0, until: 'poweroff', waitingOn, bootMenu: false });
  w.step(look(60_000, { serial: console }));
  assert.deepEqual(kinds(w.step(look(60_000 + STALL_MS.tcg - 1))), []);
  assert.deepEqual(kinds(w.step(look(60_000 + STALL_MS.tcg - 1000, { aux: 'grub-installer: info: retrying\n' }))), [], 'the syslog moved');
  assert.deepEqual(kinds(w.step(look(60_000 + 2 * STALL_MS.tcg))), ['screenshot final', 'stop']);
  assert.deepEqual(w.end, { why: 'stuck', question: 'Install the GRUB boot loader', sinceMs: 60_000 + STALL_MS.tcg - 1000 });
  // An installer that finishes powers off: the run ends as exited, no report awaited.
  const ok = new BootWatch({ accel: 'tcg', timeoutMs: 3_600_000, powerOffGraceMs: 0, until: 'poweroff', waitingOn });
  assert.deepEqual(kinds(ok.step(look(600_000, { serial: 'reboot: Power down\n', exited: true }))), []);
  assert.deepEqual(ok.end, { why: 'exited' });
});

test("an installer stopped on a question while its screen's clock still ticks is stuck (the redraws are no progress)", () => {
  // Captured under OVMF with an 8 GiB disk: partman stopped at 16:39; the status bar redrew its clock every minute after.
  const console = readFileSync(
    fileURLToPath(new URL('../../../../test/fixtures/output/d-i/partition-constraints.serial.log', import.meta.url)),
    'utf8',
  );
  const stop = console.indexOf('[Press enter to continue]') + '[Press enter to continue]'.length;
  const redraws = console.slice(stop);
  assert.match(redraws, /16:4\d/, 'the capture goes on with clock redraws');
  const consoleText = installerProgressText;
  const w = new BootWatch({
    accel: 'tcg',
    timeoutMs: 3_600_000,
    powerOffGraceMs: 0,
    until: 'poweroff',
    waitingOn,
    consoleText,
    bootMenu: false,
  });
  w.step(look(300_000, { serial: console.slice(0, stop) }));
  // One redraw a minute, cut at arbitrary points.
  const parts = redraws.match(/[\s\S]{1,97}/g) ?? [];
  let now = 300_000;
  let actions: string[] = [];
  for (const part of parts) {
    now += 60_000 / 3;
    actions = kinds(w.step(look(now, { serial: part })));
    if (w.done) break;
  }
  assert.deepEqual(actions, ['screenshot final', 'stop']);
  // The prompt's line ends with the first redraw (20 s later): the last progress.
  assert.deepEqual(w.end, { why: 'stuck', question: 'Partition disks', sinceMs: 320_000 });
  assert.deepEqual(
    diagnoseInstall({ outcome: 'timeout', stuck: { question: 'Partition disks', sinceMs: 300_000 } }, console, '', 3_600_000).kind,
    'partitioning-failed',
  );
  // Without the filter every redraw counted as output and the run waited for its timeout.
  const blind = new BootWatch({ accel: 'tcg', timeoutMs: 3_600_000, powerOffGraceMs: 0, until: 'poweroff', waitingOn, bootMenu: false });
  blind.step(look(300_000, { serial: console.slice(0, stop) }));
  now = 300_000;
  for (const part of parts) blind.step(look((now += 60_000 / 3), { serial: part }));
  assert.equal(blind.done, false);
});

test("an installer's heartbeat names the d-i component its syslog last started", () => {
  const w = new BootWatch({ accel: 'tcg', timeoutMs: 3_600_000, powerOffGraceMs: 20_000, until: 'poweroff', auxStep: installerStep });
  const aux = (nowMs: number, text: string) => look(nowMs, { aux: text });
  const says = (actions: WatchAction[]) => actions.flatMap((a) => (a.kind === 'say' ? [a.line] : []));
  w.step(aux(1000, "Dec  3 21:53:23 main-menu[2556]: INFO: Menu item 'partman-base' selected\n"));
  w.step(aux(2000, "Dec  3 21:53:28 main-menu[2556]: INFO: Menu item 'bootstrap-base' selected\n"));
  assert.deepEqual(says(w.step(aux(6000, 'debootstrap: Retrieving Release\n'))), ['starting (d-i: bootstrap-base), 6 s elapsed']);
});
