// What a --verbose --log-file build must show: each long tool's percentages rising to 100, and the command lines.
import assert from 'node:assert/strict';

/** The percentages of one kind of progress line in a --log-file ("<ts>       mksquashfs: 42 % (...)"), in order. */
export function percentages(log: string, label: RegExp): number[] {
  const out: number[] = [];
  const re = new RegExp(`^\\S+Z\\s+${label.source} (\\d+) %`);
  for (const line of log.split('\n')) {
    const m = re.exec(line);
    if (m) out.push(Number(m[1]));
  }
  return out;
}

export function assertRising(values: number[], what: string): void {
  assert.ok(values.length >= 2, `${what}: a first and a last percentage at least, got ${JSON.stringify(values)}`);
  for (let i = 1; i < values.length; i++) {
    assert.ok((values[i] ?? 0) >= (values[i - 1] ?? 0), `${what} never goes back: ${JSON.stringify(values)}`);
  }
  assert.equal(values.at(-1), 100, `${what} ends at 100 %: ${JSON.stringify(values)}`);
}

/** A layer-mode build with apt, a rootfs image compressed with zstd, --verbose, --log-file; stderr not a terminal. */
export function assertVerboseBuildLog(log: string, stderr: string): void {
  assertRising(percentages(log, /mksquashfs:/), 'mksquashfs');
  assertRising(percentages(log, /xorriso:/), 'xorriso');
  assertRising(percentages(log, /\S+: zstd:/), 'zstd');
  const install = percentages(log, /apt: install/);
  assertRising(install, 'apt install');
  assert.ok(
    install.some((p) => p > 0 && p < 100),
    `apt install progress passes through the middle: ${JSON.stringify(install)}`,
  );
  assertRising(percentages(log, /apt: download/), 'apt download');
  // --verbose: the command lines that ran, in the log and on stderr (plain timestamped lines when piped).
  for (const re of [
    /\$ mksquashfs \S+ \S+ -noappend -comp/,
    /\$ xorriso -abort_on FAILURE/,
    /\$ \S*\/in-root (-e \S+ )*\S+ apt-get install -y/,
    /\$ zstd -q -c/,
  ]) {
    assert.match(log, re);
    assert.match(stderr, re);
  }
  assert.match(stderr, /^\[OUTPUT\] \[\d\d:\d\d:\d\d\] mksquashfs: \d+ %/m, 'plain renderer lines carry a time');
  // ... and the tools' own lines, which the percentages do not replace.
  assert.match(log, /^\S+Z\s+Setting up docker\.io /m);
  // Bar redraws become percentages; they are never repeated raw.
  assert.doesNotMatch(log, /\]\s+\d+\/\d+\s+\d+%/);
}
