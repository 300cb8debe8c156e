// Verify: boot the exact output file in QEMU and check, from inside the guest, that the engine holds every image.
import { VerificationError } from '../errors.js';
import { need, type Stage } from '../pipeline/context.js';
import { evidenceIndexPaths } from '../qemu/evidence.js';
import { unverifiedPath } from '../iso/output.js';
import { failureSummary } from '../verify/verdict.js';
import { verifyIso } from '../verify/verify-iso.js';

export const verify: Stage = {
  title: 'Boot the ISO in QEMU and check the images from inside',
  skip: (ctx) =>
    ctx.config.verify.length === 0
      ? 'verification off (--verify none)'
      : ctx.facts.base?.flavor === 'ubuntu-casper' && ctx.facts.target === 'installed'
        ? 'installed systems from this base are checked on the host (installer routes stage): Ubuntu installers cannot run here'
        : undefined,
  async run(ctx, task) {
    const out = need(ctx.facts.output, 'output ISO');
    const manifest = need(ctx.facts.manifest, 'image manifest');
    const target = ctx.facts.target ?? 'live';
    // What proves each target: a live boot from the medium; for an installed one, an install and a boot of its disk.
    const media = target === 'installed' ? [] : ctx.config.verifyMedia.length > 0 ? ctx.config.verifyMedia : (['cdrom'] as const);
    // Ubuntu's installers cannot run here (subiquity is a snap, Ubiquity a desktop application): on a casper base the
    // installed system is checked on the host by the installer routes stage, on every build.
    const hostChecked = ctx.facts.base?.flavor === 'ubuntu-casper';
    const install = !hostChecked && (target === 'installed' || (target === 'both' && ctx.config.verifyInstall));
    if (hostChecked && (target === 'installed' || ctx.config.verifyInstall))
      task.output = 'the installed system was checked on the host (installer routes stage): no install in QEMU on Ubuntu bases';
    const evidenceDir = ctx.config.evidenceDir ?? ctx.ws.verifyDir;
    const what = [...media, ...(install ? ['installed disk'] : [])].join(', ');
    task.title = `Boot the ISO in QEMU (${ctx.config.verify.join(', ')} x ${what}) and check the images from inside`;
    const outcomes = await verifyIso({
      iso: out.path,
      engine: ctx.config.engine,
      expected: manifest.images.flatMap((i) => i.refs.map((ref) => ({ ref, id: i.imageId }))),
      expectedApps: manifest.apps.map((a) => ({ name: a.name, checkPort: a.checkPort })),
      firmwares: ctx.config.verify,
      media,
      install,
      accel: ctx.config.accel,
      timeout: ctx.config.verifyTimeout,
      evidenceDir,
      storeDevice: ctx.config.storeDevice,
      signal: ctx.signal,
      onLine: (l) => {
        task.output = l;
      },
    });
    ctx.facts.verify.push(...outcomes);
    if (outcomes.some((o) => !o.ok)) {
      const index = evidenceIndexPaths(evidenceDir);
      throw new VerificationError(`verification failed: ${failureSummary(outcomes)}`, {
        hint: `evidence (serial logs, screenshots, ${index.json}, ${index.junit}) in ${evidenceDir}; the unverified ISO is kept at ${unverifiedPath(ctx.config.out)}`,
      });
    }
  },
};
