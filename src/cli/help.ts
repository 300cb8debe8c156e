// Help texts: each verb's summary and examples, with its options listed from the settings table (cli/flags.ts).
import type { Verb } from '../config/settings.js';
import { VERSION } from '../util/version.js';
import { optionsHelp } from './flags.js';

export { VERSION };

const EXIT = `Exit codes: 0 success; 1 build or verification failed; 2 usage or input error; 130 interrupted.
`;

export type HelpTopic = 'main' | Verb | 'config' | 'schema';

const options = (verb: Verb) => `Options:\n${optionsHelp(verb)}`;

const TEXTS: Record<HelpTopic, () => string> = {
  main: () => `remaster ${VERSION}: preload a container engine and images into a Debian live ISO, and prove it boots.

Usage:
  remaster build --iso <base.iso> --out <new.iso> --engine docker|podman --image <archive.tar> [...]
  remaster inspect <iso> [--json]
  remaster verify <iso> --engine docker|podman --expect <name:tag> [...] [--firmware bios|uefi|all]
  remaster packages fetch --engine docker|podman --iso <base.iso> --out <folder>
  remaster doctor [--json]
  remaster config list | get <key> | set <key> <value> | unset <key>
  remaster schema > remaster.schema.json
  remaster demo [--engine docker|podman]

Run "remaster <command> --help" for the options and examples of each command.
${EXIT}`,
  build: () => `remaster build: write a new ISO with the engine, the images and their loader; boot it to check.

${options('build')}
Progress (percentages from mksquashfs, apt, zstd, xorriso; boot phases) goes to stderr: live on a terminal, plain
timestamped lines in CI or when piped. NO_COLOR=1 turns colour off.

Examples:
  remaster build --iso debian-live-12.iso --out app.iso --engine docker --image app.tar
  remaster build -c remaster.yml --verify all --json > report.json
  remaster build -c remaster.yml -q -v --log-file build.log   # quiet terminal, complete log
${EXIT}`,
  inspect: () => `remaster inspect <iso> [--json]: flavor, boot entries, root filesystem layers, checksum files.

${options('inspect')}
Example:
  remaster inspect debian-live-12.iso --json | jq .rootfs
${EXIT}`,
  verify: () => `remaster verify <iso> --engine docker|podman --expect <name:tag[@sha256:id]> [...]

Boots the ISO in QEMU through its own boot loader; the guest reports what its engine holds.

${options('verify')}
Examples:
  remaster verify app.iso --engine podman --expect acme/app:1.2 --firmware all
  remaster verify app.iso --engine docker --expect acme/db:5 --expect acme/app:1.2 \\
    --store-device LABEL=remaster-store --power-cut acme/app:1.2
${EXIT}`,
  packages: () => `remaster packages fetch --engine docker|podman --iso <base.iso> --out <folder> [--package <deb>...]
Downloads the engine packages and every dependency the base's root lacks, for the base's release and
architecture, into <folder> (with packages.json). On a machine without network:
  remaster build --packages <folder> ...

${options('packages')}
Example:
  remaster packages fetch --engine podman --iso debian-live-12.iso --out debs/ --package jq
${EXIT}`,
  config: () => `remaster config list | get <key> | set <key> <value> | unset <key>
User defaults (flags and the config file win over them): cacheDir, engine, verify, accel.
Stored in ~/.config/remaster/config.json (REMASTER_CONFIG_DIR moves it).
Example:
  remaster config set engine podman
${EXIT}`,
  doctor: () => `remaster doctor [--json]: the tools, versions, privileges and accelerator remaster would use,
and the apt-get command that installs whatever is missing. Exit 0 when nothing is missing, 1 otherwise.

${options('doctor')}
Example:
  remaster doctor --json | jq '.checks[] | select(.ok | not)'
${EXIT}`,
  schema: () => `remaster schema: print the JSON Schema of remaster.yml (for editors: yaml-language-server, VS Code).

Example:
  remaster schema > remaster.schema.json
${EXIT}`,
  demo: () => `remaster demo: build a small Debian live base ISO from Debian packages (cached), a busybox image without any
registry, remaster the base with it and boot the result.

${options('demo')}
Examples:
  remaster demo
  remaster demo --engine podman --verify all --out /tmp/demo.iso
${EXIT}`,
};

export function helpText(topic: HelpTopic): string {
  return TEXTS[topic]();
}
