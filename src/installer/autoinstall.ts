// subiquity's autoinstall, embedded the ways subiquity reads it from the medium: /autoinstall.yaml at the root of
// the install media (read by subiquity from 24.04 on, no kernel argument needed), and for a fully unattended
// install (any release from 20.04) a NoCloud seed at /nocloud/ found through the kernel arguments
// `autoinstall ds=nocloud;s=/cdrom/nocloud/`: cloud-init hands subiquity the `autoinstall:` key of its user-data,
// and `autoinstall` on the command line skips the "Continue with autoinstall?" confirmation.
//
// remaster adds no late-commands: on subiquity bases the payload reaches the disk with the install source's own
// layer (curtin copies it), so the user's file goes onto the medium as written.
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

export const AUTOINSTALL_ISO_PATH = '/autoinstall.yaml';
export const NOCLOUD_DIR = '/nocloud';
/** The kernel arguments of an unattended install: subiquity's switch, and where cloud-init finds the seed. */
export const UNATTENDED_ARGS = ['autoinstall', `ds=nocloud;s=/cdrom${NOCLOUD_DIR}/`] as const;

export type AutoinstallDoc =
  { ok: true; wrapped: boolean; section: Record<string, unknown>; lateCommands: number } | { ok: false; why: string };

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Read an autoinstall file: either `autoinstall: {version: 1, ...}` (the documented form, required in cloud-config) or
 * the bare section (`version: 1` at the top, accepted by subiquity outside cloud-config).
 */
export function parseAutoinstall(text: string): AutoinstallDoc {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    return { ok: false, why: `not YAML (${(e as Error).message.split('\n')[0]})` };
  }
  if (!isMapping(doc)) return { ok: false, why: 'not a YAML mapping (subiquity reads `autoinstall:` with `version: 1` in it)' };
  const wrapped = 'autoinstall' in doc;
  const section = wrapped ? doc.autoinstall : doc;
  if (!isMapping(section)) return { ok: false, why: '`autoinstall:` is not a mapping' };
  if (section.version !== 1) {
    return {
      ok: false,
      why: `${section.version === undefined ? 'no `version`' : `version ${String(section.version)}`} in the autoinstall section: subiquity reads version 1`,
    };
  }
  for (const key of ['early-commands', 'late-commands', 'error-commands']) {
    if (section[key] !== undefined && !Array.isArray(section[key])) return { ok: false, why: `\`${key}\` is not a list of commands` };
  }
  const late = section['late-commands'];
  return { ok: true, wrapped, section, lateCommands: Array.isArray(late) ? late.length : 0 };
}

/** The files for the medium: /autoinstall.yaml as written; with unattended, the NoCloud seed too. */
export function autoinstallFiles(text: string, doc: Extract<AutoinstallDoc, { ok: true }>, unattended: boolean): Map<string, string> {
  const files = new Map<string, string>([[AUTOINSTALL_ISO_PATH, text]]);
  if (unattended) {
    // cloud-config needs the top-level autoinstall key; the user's own text is kept when it has it.
    const body = doc.wrapped ? text.replace(/^#cloud-config[^\n]*\n/, '') : stringifyYaml({ autoinstall: doc.section });
    files.set(`${NOCLOUD_DIR}/user-data`, `#cloud-config\n${body}`);
    // NoCloud needs meta-data to exist; an instance-id keeps cloud-init from treating each boot as new.
    files.set(`${NOCLOUD_DIR}/meta-data`, 'instance-id: remaster-autoinstall\n');
  }
  return files;
}
