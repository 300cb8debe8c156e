// Reading d-i's console on a serial line (captured from unattended installs that failed): the question it stopped on,
// whether it waits for an answer, and the one diagnosis a failed install gets.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { diagnoseInstall, installerConsole, lastQuestion, textInstaller, waitingOn } from '../../../src/verify/install.js';

const captured = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/output/d-i/${name}`, import.meta.url)), 'utf8');

test('the text installer pair: /install/initrd.gz rather than the graphical one', () => {
  assert.deepEqual(textInstaller(['/install/gtk/initrd.gz', '/install/initrd.gz']), {
    kernel: '/install/vmlinuz',
    initrd: '/install/initrd.gz',
  });
  assert.equal(textInstaller([]), undefined);
});

test("the screen multiplexer's status bar is cut out of the lines it interrupts", () => {
  const lines = installerConsole(captured('grub-failed.serial.log'));
  assert.ok(lines.includes('Installing GRUB boot loader  ... 16%'), lines.slice(-12).join('\n'));
  assert.ok(!lines.some((l) => l.includes('(1*installer)')));
});

test('the question d-i stopped on: title, error, prompt; it waits for an answer', () => {
  const grub = lastQuestion(captured('grub-failed.serial.log'));
  assert.equal(grub?.title, 'Install the GRUB boot loader');
  assert.equal(grub?.text[0], '!! ERROR: GRUB installation failed');
  assert.equal(waitingOn(captured('grub-failed.serial.log')), 'Install the GRUB boot loader');
  assert.equal(waitingOn(captured('apt-setup-failed.serial.log')), 'Configure the package manager');
  assert.equal(waitingOn('Installing the system...  ... 10%... 20%'), undefined, 'progress is not a question');
});

test('diagnosis: a stopped boot loader install, another question, a timeout, a run that ended early, success', () => {
  const stuck = { outcome: 'timeout' as const, stuck: { question: 'x', sinceMs: 1 } };
  const grub = diagnoseInstall(stuck, captured('grub-failed.serial.log'), captured('grub-failed.syslog'), 3_600_000);
  assert.equal(grub.kind, 'bootloader-failed');
  assert.equal(
    grub.message,
    'the boot loader install failed: the installer stopped on "Install the GRUB boot loader": !! ERROR: GRUB installation failed The \'grub-pc\' package failed to install into /target/. Without the GRUB boot loader, the installed system will not boot.',
  );
  const apt = diagnoseInstall(stuck, captured('apt-setup-failed.serial.log'), '', 3_600_000);
  assert.deepEqual(
    [
      apt.kind,
      apt.message?.startsWith(
        'the installer stopped on a question it had no answer for: "Configure the package manager": !! ERROR: apt configuration problem',
      ),
    ],
    ['installer-question', true],
  );
  const slow = diagnoseInstall({ outcome: 'timeout' }, 'Installing the system...  ... 10%', '', 3_600_000);
  assert.deepEqual(
    [slow.kind, slow.message],
    ['install-timeout', 'the install did not finish within 60 min; last console line: "Installing the system...  ... 10%"'],
  );
  const early = diagnoseInstall({ outcome: 'powered-off' }, 'Kernel panic - not syncing: VFS', '', 1);
  assert.equal(early.kind, 'installer-exited');
  const done = diagnoseInstall(
    { outcome: 'powered-off' },
    '[ 900.1] reboot: Power down\n',
    "Dec  3 16:30:00 main-menu[1]: INFO: Menu item 'finish-install' selected\n",
    1,
  );
  assert.deepEqual(done, { ok: true });
});
