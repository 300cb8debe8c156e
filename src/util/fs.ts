// Small file operations several rooms need.
import { copyFile, link, rm } from 'node:fs/promises';

/** Hard link when both sides share a filesystem (instant), copy otherwise; whatever was at `to` is replaced. */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  await rm(to, { force: true });
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}
