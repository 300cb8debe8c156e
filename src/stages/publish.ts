// Publish: the verified ISO is renamed onto --out (same folder: atomic) and gets its line in SHA256SUMS.
import { rename } from 'node:fs/promises';
import { resolve } from 'node:path';
import { recordChecksum } from '../iso/output.js';
import { need, type Stage } from '../pipeline/context.js';
import { mib } from '../util/format.js';

export const publish: Stage = {
  title: 'Publish the ISO',
  async run(ctx, task) {
    const o = need(ctx.facts.output, 'output ISO');
    const out = resolve(ctx.config.out);
    await rename(o.path, out);
    ctx.facts.output = { ...o, path: out };
    await recordChecksum(out, o.sha256);
    task.output = `${out} (${mib(o.bytes)}, sha256 ${o.sha256.slice(0, 16)}...)`;
  },
};
