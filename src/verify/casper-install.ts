// verify --install on an Ubuntu (casper) base. subiquity is a snap from the Ubuntu archive and Ubiquity a desktop
// application: neither runs on a build host, so no install in QEMU is offered. What is offered is the host-side check
// every build runs: each install source's chain mounted exactly as curtin mounts it (every dotted prefix of the path
// read-only, the longest name on top, a missing member a failure), and what an installed server needs looked for
// in it. The output says what this does not cover.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { checkInstallSources, describeChecks, type SourceCheck } from '../installer/curtin.js';
import { LOADER_FILES } from '../installer/replay.js';
import type { InspectResult } from '../iso/inspect.js';
import { isoMember } from '../rootfs/chain.js';
import { engineBinaries, enginePackages } from '../rootfs/packages.js';
import type { Engine } from '../types.js';
import { PAYLOAD_DIR } from '../units/render.js';

export const CASPER_INSTALL_LIMITS =
  "host-side check: subiquity and curtin do not run here (subiquity is a snap from the Ubuntu archive); each install source's chain is mounted as curtin's fsimage-layered handler mounts it and checked for the engine, its dpkg status, the enabled units and the image archives. Not covered: subiquity's own steps (partitions, users, bootloader, its late-commands), the first boot of an installed disk, and language layers (such bases are refused)";

export interface CasperInstallCheck {
  ok: boolean;
  limits: string;
  sources: SourceCheck[];
  /** One line per source. */
  lines: string[];
}

/** Check every install source of a casper base for the engine and the expected images. */
export async function checkCasperInstall(o: {
  base: InspectResult;
  engine: Engine;
  expected: readonly { ref: string; id?: string | undefined }[];
  dir: string;
  signal?: AbortSignal | undefined;
}): Promise<CasperInstallCheck> {
  const subiquity = o.base.installers.find((i) => i.kind === 'subiquity');
  if (!subiquity?.supported || !subiquity.sources) {
    const ubiquity = o.base.installers.find((i) => i.kind === 'ubiquity' && i.supported);
    throw new UsageError(
      ubiquity
        ? `verify --install: ${o.base.iso} installs with Ubiquity, a desktop application remaster cannot drive; its success_command was replayed on the host when the ISO was built`
        : `verify --install: ${o.base.iso} has no subiquity install sources remaster can check${subiquity ? ` (${subiquity.route})` : ''}`,
      { hint: 'verify the live session without --install; the build log names the installed-system route it checked' },
    );
  }
  const base = o.base;
  const sources = await checkInstallSources({
    sources: subiquity.sources,
    lookup: (p) => isoMember(base.iso, base.files, p),
    expect: {
      binaries: engineBinaries[o.engine],
      packages: enginePackages[o.engine],
      files: LOADER_FILES,
      deleted: [],
    },
    more: (root) => expectedImages(root, o.expected),
    dir: o.dir,
    signal: o.signal,
  });
  return { ok: sources.every((s) => s.problems.length === 0), limits: CASPER_INSTALL_LIMITS, sources, lines: describeChecks(sources) };
}

/** Each expected image in the chain's manifest (with its ID when given), and its archive beside it. */
async function expectedImages(root: string, expected: readonly { ref: string; id?: string | undefined }[]): Promise<string[]> {
  const dir = join(root, PAYLOAD_DIR);
  let manifest: { images?: { refs?: string[]; file?: string; imageId?: string }[] };
  try {
    manifest = JSON.parse(await readFile(join(dir, 'images.json'), 'utf8')) as typeof manifest;
  } catch {
    return [`${PAYLOAD_DIR}/images.json is missing or not JSON`];
  }
  const problems: string[] = [];
  for (const e of expected) {
    const image = manifest.images?.find((i) => i.refs?.includes(e.ref));
    if (!image) {
      problems.push(`${e.ref} is not in ${PAYLOAD_DIR}/images.json`);
      continue;
    }
    if (e.id && image.imageId !== e.id) problems.push(`${e.ref} has image ID ${image.imageId}, expected ${e.id}`);
    const archive = join(dir, 'images', image.file ?? '');
    if (
      !(await stat(archive).then(
        (st) => st.isFile(),
        () => false,
      ))
    )
      problems.push(`${e.ref}: its archive ${PAYLOAD_DIR}/images/${image.file} is missing`);
  }
  return problems;
}
