// Inspect: learn the base's flavor, boot setup and root layers; refuse what remaster cannot handle.
import { UsageError } from '../errors.js';
import { inspectIso } from '../iso/inspect.js';
import type { Stage } from '../pipeline/context.js';

export const inspect: Stage = {
  title: 'Inspect the base ISO',
  async run(ctx, task) {
    const base = await inspectIso(ctx.config.iso, { signal: ctx.signal });
    if (!base.boot.bios && !base.boot.uefi) {
      throw new UsageError(`${ctx.config.iso} has no El Torito boot entry and no EFI partition: it cannot boot`, {
        hint: 'use a bootable live ISO as the base',
      });
    }
    ctx.facts.base = base;
    const boot = [base.boot.bios && 'BIOS', base.boot.uefi && 'UEFI', base.boot.hybrid && 'hybrid MBR', base.boot.gpt && 'GPT']
      .filter(Boolean)
      .join(' + ');
    const layers = base.rootfs.map((r) => `${r.path} (${r.compression})`).join(', ');
    task.output = `${base.flavor}; boot: ${boot}; root: ${layers}`;
  },
};
