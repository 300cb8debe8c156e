// d-i preseed files: the user's answers, merged with what the medium already preseeds and with remaster's late
// commands, which are appended to the user's own (never replacing them). Values loaded later win in d-i, so a merge
// is a concatenation, except for preseed/late_command, which becomes one command running each part in turn.

export interface PreseedPart {
  /** Where it came from, for the comment above it (never a secret: preseed files are on the medium anyway). */
  source: string;
  text: string;
}

/** Logical lines of a preseed text: backslash-continued lines joined, comments and blank lines kept as they are. */
export function preseedLines(text: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  for (const raw of text.replace(/\r\n/g, '\n').split('\n')) {
    if (cur !== undefined) {
      cur += `\n${raw}`;
    } else cur = raw;
    if (!/\\$/.test(raw) || /^\s*#/.test(cur)) {
      out.push(cur);
      cur = undefined;
    }
  }
  if (cur !== undefined) out.push(cur);
  return out;
}

/** A debconf question holding a shell command an installer runs at its end. */
export interface CommandQuestion {
  owner: string;
  name: string;
}
/** d-i's late command. */
export const DI_LATE: CommandQuestion = { owner: 'd-i', name: 'preseed/late_command' };
/** Ubiquity's: run in the live session once the system is installed, /target still mounted. */
export const UBIQUITY_SUCCESS: CommandQuestion = { owner: 'ubiquity', name: 'ubiquity/success_command' };

function questionLine(q: CommandQuestion): RegExp {
  return new RegExp(`^\\s*\\S+\\s+${q.name.replace('/', '\\/')}\\s+string\\s?`);
}
const LATE = questionLine(DI_LATE);

/** The value of the last preseed/late_command in text (continuations kept), or undefined. */
export function lateCommand(text: string): string | undefined {
  return lateCommandOf(text, DI_LATE);
}

/** The value of the last answer to a command question in text, or undefined. */
export function lateCommandOf(text: string, q: CommandQuestion): string | undefined {
  const re = q === DI_LATE ? LATE : questionLine(q);
  let found: string | undefined;
  for (const l of preseedLines(text)) if (re.test(l)) found = l.replace(re, '').trim();
  return found;
}

const RECOMMENDS = /^\s*\S+\s+base-installer\/install-recommends\s+boolean\s+(\S+)/;

/**
 * Whether the answers turn Recommends off (the last base-installer/install-recommends wins). d-i's grub-installer
 * installs grub-efi-amd64 and gets the signed GRUB only as its Recommends: with them off, an installed UEFI system
 * boots only with Secure Boot off.
 */
export function recommendsOff(text: string): boolean {
  let off = false;
  for (const l of preseedLines(text)) {
    const m = RECOMMENDS.exec(l);
    if (m) off = m[1] === 'false';
  }
  return off;
}

/**
 * One preseed file from the parts in order (later answers win), with remaster's late commands run after whatever
 * late_command the parts end up with.
 */
export function mergePreseed(parts: readonly PreseedPart[], lateCommands: readonly string[] = [], q: CommandQuestion = DI_LATE): string {
  const re = questionLine(q);
  let late: string | undefined;
  const body: string[] = [];
  for (const p of parts) {
    if (p.source) body.push(`# --- ${p.source}`);
    for (const l of preseedLines(p.text)) {
      if (re.test(l)) late = l.replace(re, '').trim();
      else body.push(l);
    }
  }
  const commands = [...(late ? [late] : []), ...lateCommands];
  if (commands.length > 0) {
    body.push("# --- commands run at the end: the preseeded one first, then remaster's");
    body.push(`${q.owner} ${q.name} string ${commands.join('; \\\n  ')}`);
  }
  return `${body.join('\n').replace(/\n+$/, '')}\n`;
}
