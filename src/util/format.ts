// How sizes and durations read in progress lines, reports and errors: one spelling everywhere.

/** "12.3 MiB" */
export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** "1.5 GiB" */
export function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** "12.3 s" from milliseconds. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Each line of text indented by four spaces (a tool's output quoted under an error). */
export function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
