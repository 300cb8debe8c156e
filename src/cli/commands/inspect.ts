// remaster inspect <iso>: what the base is (flavor, boot setup, root layers, checksum files), as text or JSON.
import { ExitCode, UsageError } from '../../errors.js';
import { type InspectResult, inspectIso } from '../../iso/inspect.js';
import { mib } from '../../util/format.js';
import { flagValue, parseFlags } from '../flags.js';
import { printHelp } from './help.js';

export async function inspectCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { raw, positionals, help } = parseFlags('inspect', argv);
  if (help) return printHelp('inspect');
  const [iso, extra] = positionals;
  if (!iso || extra) throw new UsageError('remaster inspect takes one ISO path', { hint: 'remaster inspect base.iso [--json]' });
  const r = await inspectIso(iso, { signal });
  if (flagValue('inspect', 'json', raw) === true) {
    const { files: _files, installers, ...rest } = r;
    // The base's own unpackfs.conf text is an input of the build, not a fact to print.
    Object.assign(rest, { installers: installers.map(({ unpackfs: _u, ...i }) => i) });
    process.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
  } else process.stdout.write(describeInspect(r));
  return ExitCode.ok;
}

export function describeInspect(r: InspectResult): string {
  const b = r.boot;
  const lines = [
    `${r.iso}: ${r.flavor}, volume "${r.volumeId}", ${mib(r.bytes)}`,
    `boot: BIOS ${b.bios ? 'yes' : 'no'}, UEFI ${b.uefi ? 'yes' : 'no'}, hybrid ${b.hybrid ? 'yes' : 'no'}${b.gpt ? ' (GPT)' : ''}${b.appendedEfiPartition ? ', appended EFI partition' : ''}`,
    ...b.elTorito.map((e) => `  El Torito #${e.index}: ${e.platform}${e.path ? ` ${e.path}` : ''}`),
    `  system area: ${b.systemArea || 'none'}`,
    'root filesystem layers (bottom first):',
    ...r.rootfs.map((l) => `  ${l.path}: ${l.compression}, ${l.blockSize / 1024} KiB blocks, ${mib(l.bytes)}`),
    `kernels: ${r.kernels.join(', ') || 'none'}; initrds: ${r.initrds.join(', ') || 'none'}`,
    `checksum files: ${r.checksumFiles.join(', ') || 'none'}; boot menus: ${r.bootMenus.join(', ') || 'none'}`,
  ];
  if (r.moduleFile) lines.push(`layer order file: ${r.moduleFile}`);
  if (r.pool)
    lines.push(
      `package pool: ${r.pool.suite}${r.pool.version ? ` ${r.pool.version}` : ''} (${r.pool.release}): d-i installs the base system from it`,
    );
  if (r.initrd) {
    const parts = r.initrd.parts.map((p) => `${p.compression} (${p.entries} entries)`).join(' + ');
    lines.push(`initrd ${r.initrd.path}: ${parts}; boot scripts: ${r.initrd.bootScripts}`);
  }
  if (r.casper) {
    const c = r.casper;
    lines.push(
      c.layered
        ? `casper: layered, live chain top ${c.layerfsPath} (from the ${c.layerfsSource === 'menu' ? 'boot menus' : 'initrd'}${c.initrdLayerfsPath ? `; initrd default ${c.initrdLayerfsPath}` : ''})`
        : 'casper: single layer set (casper stacks every /casper/*.squashfs, sorted)',
    );
    if (c.menuLayerPaths.length > 0) lines.push(`  layerfs-path in boot menus: ${c.menuLayerPaths.join(', ')}`);
    for (const src of c.installSources) {
      const vars = src.variations.filter((v) => v.name !== 'default').map((v) => `${v.name} ${v.path}`);
      const langs = src.preinstalledLangs.length > 0 ? `; languages ${src.preinstalledLangs.join(' ')}` : '';
      lines.push(
        `  install source ${src.id}: ${src.path}${src.default ? ' (default)' : ''}${vars.length ? `; variations: ${vars.join(', ')}` : ''}${langs}`,
      );
    }
  }
  lines.push(`installers: ${r.installers.map((i) => i.kind).join(', ') || 'none'}`);
  for (const i of r.installers) lines.push(`  ${i.kind}: ${i.supported ? 'reached' : 'not reached'}: ${i.route}`);
  lines.push(
    `targets: live ${r.targets.live.reachable ? 'yes' : `no (${r.targets.live.why})`}; installed ${r.targets.installed.reachable ? `yes (${r.targets.installed.why})` : `no (${r.targets.installed.why})`}`,
  );
  return `${lines.join('\n')}\n`;
}
