// Comparing the boot setup of two ISOs as xorriso reports it.
import type { SystemAreaReport } from '../../src/iso/xorriso.js';

const aligned = (sa: SystemAreaReport) =>
  !!sa.cylinderBlocks512 && sa.isoSizeBlocks512 !== undefined && sa.isoSizeBlocks512 % sa.cylinderBlocks512 === 0;

/**
 * Two system area summaries, with the cylinder alignment made comparable. xorriso does not store the
 * alignment mode: reading an image, it infers "cyl-align-on" when the image ends on a cylinder boundary.
 * An image written with alignment off therefore reads as "on" whenever its size happens to be a whole
 * number of cylinders (a rebuilt casper fixture of exactly 237 one-MiB cylinders did). When either image
 * is aligned, the word says nothing about how it was written, so it is left out of both.
 */
export function comparableSummaries(a: SystemAreaReport, b: SystemAreaReport): [string, string] {
  if (!aligned(a) && !aligned(b)) return [a.summary, b.summary];
  const drop = (s: string) => s.replace(/\s*\bcyl-align-(on|off)\b/, '');
  return [drop(a.summary), drop(b.summary)];
}
