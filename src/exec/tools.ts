// The one table of external tools: which Debian package provides each, how it tells its version, what needs it,
// and when a build needs it. Preflight, `remaster doctor` and run()'s "install it" hints all read it.

export interface Tool {
  tool: string;
  /** Debian package(s) that provide it (apt-get install <package>). */
  package: string;
  /** Arguments that print its version (doctor); none: doctor only checks it is there. */
  version?: readonly string[];
  /** What needs it, in doctor's words. */
  for: string;
  /** A build with these settings needs it (preflight); absent: every build does. */
  neededBy?(c: BuildNeeds): boolean;
}

/** What of a build's settings decides which tools it needs. */
export interface BuildNeeds {
  verify: readonly string[];
  compression: string;
  images?: readonly { kind: string }[];
  imageStore?: string;
  engine?: string;
}

const never = () => false;
const dockerReady = (c: BuildNeeds) => c.imageStore === 'ready' && c.engine === 'docker';

export const TOOLS: readonly Tool[] = [
  { tool: 'xorriso', package: 'xorriso', version: ['-version'], for: 'build' },
  { tool: 'mksquashfs', package: 'squashfs-tools', version: ['-version'], for: 'build' },
  { tool: 'unsquashfs', package: 'squashfs-tools', version: ['-version'], for: 'build' },
  // mksquashfs runs on a pseudo-terminal, the only place it draws its progress.
  { tool: 'script', package: 'bsdutils', version: ['--version'], for: 'build (mksquashfs progress on a pseudo-terminal)' },
  { tool: 'mount', package: 'mount', for: 'build' },
  { tool: 'umount', package: 'mount', for: 'build' },
  { tool: 'chroot', package: 'coreutils', for: 'build' },
  { tool: 'findmnt', package: 'util-linux', for: 'build' },
  { tool: 'getfattr', package: 'attr', version: ['--version'], for: 'build' },
  { tool: 'setfattr', package: 'attr', version: ['--version'], for: 'build' },
  { tool: 'zstd', package: 'zstd', version: ['--version'], for: 'build (zstd archives)', neededBy: (c) => c.compression === 'zstd' },
  { tool: 'xz', package: 'xz-utils', for: 'build (xz archives)', neededBy: (c) => c.compression === 'xz' },
  {
    tool: 'skopeo',
    package: 'skopeo',
    version: ['--version'],
    for: 'registry/OCI sources, podman ready store',
    neededBy: (c) => (c.imageStore === 'ready' && c.engine === 'podman') || (c.images ?? []).some((i) => i.kind === 'skopeo'),
  },
  {
    tool: 'qemu-system-x86_64',
    package: 'qemu-system-x86',
    version: ['--version'],
    for: 'verify',
    neededBy: (c) => c.verify.length > 0,
  },
  { tool: 'rsync', package: 'rsync', version: ['--version'], for: 'installed targets (the Calamares copy, replayed)', neededBy: never },
  { tool: 'qemu-img', package: 'qemu-utils', for: 'verify', neededBy: never },
  {
    tool: 'mkfs.ext4',
    package: 'e2fsprogs',
    version: ['-V'],
    for: 'docker ready store; verify --store-device (the store disk)',
    neededBy: dockerReady,
  },
  { tool: 'resize2fs', package: 'e2fsprogs', for: 'docker ready store', neededBy: dockerReady },
  { tool: 'e2fsck', package: 'e2fsprogs', for: 'docker ready store', neededBy: dockerReady },
  { tool: 'unshare', package: 'util-linux', for: 'docker ready store (dockerd in private namespaces)', neededBy: dockerReady },
  {
    tool: 'debootstrap',
    package: 'debootstrap',
    version: ['--version'],
    for: 'netinst/DVD bases (the root d-i installs), demo and tests',
    neededBy: never,
  },
  { tool: 'grub-mkimage', package: 'grub-common grub-pc-bin', for: 'tests (Ubuntu-shaped base ISOs)', neededBy: never },
  { tool: 'dpkg-deb', package: 'dpkg', for: 'demo and tests (base ISO boot loaders)', neededBy: never },
  { tool: 'mkfs.vfat', package: 'dosfstools', for: 'demo and tests (base ISO)', neededBy: never },
  { tool: 'apt-ftparchive', package: 'apt-utils', for: 'tests (installer base ISO: package pools)', neededBy: never },
  { tool: 'depmod', package: 'kmod', for: 'tests (installer base ISO: d-i initrd)', neededBy: never },
  { tool: 'cpio', package: 'cpio', for: 'tests (installer base ISO: d-i initrd)', neededBy: never },
  { tool: 'mcopy', package: 'mtools', for: 'demo and tests (base ISO)', neededBy: never },
  { tool: 'mmd', package: 'mtools', for: 'demo and tests (base ISO)', neededBy: never },
];

/** The Debian package that provides a tool, for "install it" hints. */
export function toolPackage(tool: string): string | undefined {
  return TOOLS.find((t) => t.tool === tool)?.package;
}

/** The tools a build with these settings calls. */
export function requiredTools(c: BuildNeeds): string[] {
  return TOOLS.filter((t) => (t.neededBy ? t.neededBy(c) : true)).map((t) => t.tool);
}

/** The tools doctor reports: those with a way to tell their version. */
export function doctorTools(): Tool[] {
  return TOOLS.filter((t) => t.version !== undefined);
}
