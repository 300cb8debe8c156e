// The evidence a verification leaves behind: one folder per firmware x media run, plus verify.json (the outcomes)
// and junit.xml (one testcase per run) at the top, for people and for CI test reporters.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stripTerminalCodes } from './phases.js';

/** Lines of the serial console kept in junit.xml's system-out. */
export const SERIAL_TAIL_LINES = 50;
export const JUNIT_SUITE = 'remaster-verify';

/** The folder (below the evidence dir) and the testcase name of one run, e.g. "uefi-usb". */
export function runName(firmware: string, media: string): string {
  return `${firmware}-${media}`;
}

/** What junitXml needs of an outcome; serialTail is the console's last lines (see serialTail()). */
export interface JunitOutcome {
  firmware: string;
  media: string;
  ok: boolean;
  durationSeconds: number;
  diagnosis?: string | undefined;
  diagnosisKind?: string | undefined;
  serialTail?: readonly string[] | undefined;
}

/** Characters XML 1.0 cannot carry at all, even as character references; lone surrogates; U+FFFE/U+FFFF. */
const XML_INVALID = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function visible(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Escape text for an XML element's content; characters XML cannot hold become visible \xNN escapes. */
export function xmlText(text: string): string {
  return text.replace(XML_INVALID, visible).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Escape text for a double-quoted attribute; newlines and tabs are kept as character references. */
export function xmlAttr(text: string): string {
  return xmlText(text)
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;')
    .replaceAll('\n', '&#10;')
    .replaceAll('\r', '&#13;')
    .replaceAll('\t', '&#9;');
}

/** The last n non-empty lines of a console log, terminal escape codes removed. */
export function serialTail(log: string, n = SERIAL_TAIL_LINES): string[] {
  return stripTerminalCodes(log)
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim().length > 0)
    .slice(-n);
}

function seconds(s: number): string {
  return (Math.round(s * 1000) / 1000).toFixed(3);
}

/**
 * JUnit XML for a verification: one testsuite "remaster-verify", one testcase per firmware x media run. A failed
 * run carries its diagnosis as the failure message (and kind as the type); every run carries the last console
 * lines as system-out. Pure.
 */
export function junitXml(outcomes: readonly JunitOutcome[], o: { timestamp?: string; properties?: Record<string, string> } = {}): string {
  const failures = outcomes.filter((x) => !x.ok).length;
  const total = outcomes.reduce((t, x) => t + x.durationSeconds, 0);
  const props = Object.entries(o.properties ?? {});
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${JUNIT_SUITE}" tests="${outcomes.length}" failures="${failures}" errors="0" time="${seconds(total)}">`,
    `  <testsuite name="${JUNIT_SUITE}" tests="${outcomes.length}" failures="${failures}" errors="0" skipped="0" time="${seconds(total)}"${o.timestamp ? ` timestamp="${xmlAttr(o.timestamp)}"` : ''}>`,
  ];
  if (props.length > 0) {
    lines.push('    <properties>');
    for (const [k, v] of props) lines.push(`      <property name="${xmlAttr(k)}" value="${xmlAttr(v)}"/>`);
    lines.push('    </properties>');
  }
  for (const x of outcomes) {
    const name = runName(x.firmware, x.media);
    lines.push(`    <testcase classname="${JUNIT_SUITE}" name="${xmlAttr(name)}" time="${seconds(x.durationSeconds)}">`);
    if (!x.ok) {
      const message = x.diagnosis ?? 'verification failed without a diagnosis';
      lines.push(
        `      <failure message="${xmlAttr(message)}" type="${xmlAttr(x.diagnosisKind ?? 'verification-failed')}">${xmlText(message)}</failure>`,
      );
    }
    const out = x.serialTail ?? [];
    lines.push(out.length > 0 ? `      <system-out>${xmlText(out.join('\n'))}</system-out>` : '      <system-out/>');
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

/** The last console lines of one run's serial log (empty when there is none). */
export async function readSerialTail(serialLog: string, n = SERIAL_TAIL_LINES): Promise<string[]> {
  return serialTail(await readFile(serialLog, 'utf8').catch(() => ''), n);
}

export interface EvidenceIndex {
  /** verify.json */
  json: string;
  /** junit.xml */
  junit: string;
}

export function evidenceIndexPaths(dir: string): EvidenceIndex {
  return { json: join(dir, 'verify.json'), junit: join(dir, 'junit.xml') };
}

/** Write verify.json (the given summary, outcomes included) and junit.xml at the top of the evidence dir. */
export async function writeEvidenceIndex(
  dir: string,
  summary: { ok: boolean; outcomes: readonly JunitOutcome[] } & Record<string, unknown>,
  junit: { outcomes: readonly JunitOutcome[]; timestamp?: string; properties?: Record<string, string> },
): Promise<EvidenceIndex> {
  const paths = evidenceIndexPaths(dir);
  await writeFile(paths.json, `${JSON.stringify(summary, null, 2)}\n`);
  await writeFile(
    paths.junit,
    junitXml(junit.outcomes, {
      ...(junit.timestamp ? { timestamp: junit.timestamp } : {}),
      ...(junit.properties ? { properties: junit.properties } : {}),
    }),
  );
  return paths;
}
