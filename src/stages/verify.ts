// Verify: boot the exact output file in QEMU and check, from inside the guest, that the engine holds every image.
import { VerificationError } from '../errors.js';
import type { Stage } from '../pipeline/context.js';
import { need } from '../pipeline/context.js';
import { verifyIso } from '../verify.js';
import { unverifiedPath } from './iso.js';

export const verify: Stage = {
  title: 'Boot the ISO in QEMU and check the images from inside',
  skip: (ctx) => (ctx.config.verify.length === 0 ? 'verification off (--verify none)' : undefined),
  async run(ctx, task) {
    const out = need(ctx.facts.output, 'output ISO');
    const manifest = need(ctx.facts.manifest, 'image manifest');
    task.title = `Boot the ISO in QEMU (${ctx.config.verify.join(', ')}) and check the images from inside`;
    const outcomes = await verifyIso({
      iso: out.path,
      engine: ctx.config.engine,
      expected: manifest.images.flatMap((i) => i.refs.map((ref) => ({ ref, id: i.imageId }))),
      firmwares: ctx.config.verify,
      accel: ctx.config.accel,
      timeout: ctx.config.verifyTimeout,
      workDir: ctx.ws.verifyDir,
      signal: ctx.signal,
      onLine: (l) => {
        task.output = l;
      },
    });
    ctx.facts.verify.push(...outcomes);
    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length > 0) {
      throw new VerificationError(
        `verification failed: ${failed.map((f) => `${f.firmware}: ${f.diagnosis ?? 'unknown failure'}`).join('; ')}`,
        {
          hint: `evidence (serial log, screenshots) in ${ctx.ws.verifyDir}; the unverified ISO is kept at ${unverifiedPath(ctx.config.out)}`,
        },
      );
    }
  },
};
