// Small file operations several rooms need.
import { copyFile, link, rm, stat } from 'node:fs/promises';

/** Hard link when both sides share a filesystem (instant), copy otherwise; whatever was at `to` is replaced. */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  await rm(to, { force: true });
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}

/**
 * A file's identity for memos of what was read from it: device, inode, size, modification and change times. An edit
 * changes the change time, which nobody can set back, so a memo keyed by it is never stale.
 */
export async function fileIdentity(path: string): Promise<string> {
  const st = await stat(path, { bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}
