// Help texts with examples for each verb.
import { readFileSync } from 'node:fs';

export const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const EXIT = `Exit codes: 0 success; 1 build or verification failed; 2 usage or input error; 130 interrupted.
`;

export const HELP = {
  main: `remaster ${VERSION}: preload a container engine and images into a Debian live ISO, and prove it boots.

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
  build: `remaster build: write a new ISO with the engine, the images and their loader; boot it to check.

Options:
  -c, --config <file>        YAML or JSON file with the same keys (flags override it)
  --iso <path>               base ISO (Debian live, Ubuntu casper single or layered)
  -o, --out <path>           ISO to write (written beside, renamed when verified)
  --engine docker|podman     engine to install from the base's apt sources
  --image <source>           repeatable: app.tar (docker save / podman save),
                             docker-archive:app.tar=name:tag (rename), rootfs:root.tar=name:tag
  --verify none|bios|uefi|all  boot the result in QEMU and check the images (default bios)
  --verify-media cdrom|usb|all attach the ISO as a CD-ROM and/or as a USB stick (default cdrom)
  --evidence-dir <dir>       serial logs, screenshots, verify.json and junit.xml (default: in the work dir)
  --compression zstd|gzip|xz|none, --compression-level <n>
  --rootfs-mode auto|layer|rebuild   add a layer (default where possible) or rebuild the root
  --squashfs-level <n>       zstd/gzip level of the squashfs written (default 3 for a layer)
  --package <deb>            repeatable: more packages to install with the engine
  --packages <folder>        install offline from a folder made by remaster packages fetch
  --delete-after-load        the loader deletes each archive after a verified load
  --podman-store load|ready  ready: podman gets a read-only image store on the medium (no load at boot)
  --tmpfs-size <size>        engine store tmpfs on a live root (default 75%)
  --store-device <dev>       live root: engine store on this filesystem when present (LABEL=remaster-store),
                             so images loaded once survive reboots; tmpfs when absent
  --accel auto|kvm|tcg, --verify-timeout <seconds>
  --cache-dir, --work-dir <dir>, --keep-work
  --kernel-arg <arg>         repeatable: added to every boot entry that starts the live system
  --serial-console           menus and kernel also on ttyS0 at 115200 baud (isolinux/serial.cfg,
                             templates/grub-serial.cfg)
  --menu-title <text>, --menu-timeout <seconds>   isolinux title / first GRUB entry name; both menus' wait
  --disk-info <text>         new .disk/info (the medium name installers show)
  --no-engine-cache          install the engine with apt/dpkg even when an earlier build on the same
                             base cached that exact install (<cache>/engine)
  --no-resume                redo every stage (default: a rerun after an interrupted or failed
                             build skips the stages whose inputs did not change)
  --json                     print the build report as JSON on stdout
  --log-file <file>          append every stage event and progress line (with -v, every command
                             line and tool output too), timestamped, whatever the terminal shows
  -q, --quiet                no progress on stderr (errors and the report remain)
  -v, --verbose              also each external command line (credentials masked) and the tools'
                             own output, as plain timestamped lines
                             Progress (percentages from mksquashfs, apt, zstd, xorriso; boot phases)
                             goes to stderr: live on a terminal, plain timestamped lines in CI or
                             when piped. NO_COLOR=1 turns colour off.

Examples:
  remaster build --iso debian-live-12.iso --out app.iso --engine docker --image app.tar
  remaster build -c remaster.yml --verify all --json > report.json
  remaster build -c remaster.yml -q -v --log-file build.log   # quiet terminal, complete log
${EXIT}`,
  inspect: `remaster inspect <iso> [--json]: flavor, boot entries, root filesystem layers, checksum files.

Example:
  remaster inspect debian-live-12.iso --json | jq .rootfs
${EXIT}`,
  verify: `remaster verify <iso> --engine docker|podman --expect <name:tag[@sha256:id]> [...]
  --firmware bios|uefi|all (default bios), --media cdrom|usb|all (default cdrom),
  --accel auto|kvm|tcg, --timeout <seconds>, --evidence-dir <dir> (serial logs, screenshots,
  verify.json, junit.xml), --json, -v/--verbose (the QEMU command line and its output)
  --store-device LABEL=<l>|UUID=<u>  the ISO's --store-device: each boot gets a fresh ext4 disk
                             with that label, and the engine store must be on it
  --power-cut <name:tag>     with --store-device: cut the power while that image loads, boot again
                             from the same disk; every image must be there and the loader must
                             report the interrupted load (evidence of the cut boot in power-cut/)

Boots the ISO in QEMU through its own boot loader; the guest reports what its engine holds.

Examples:
  remaster verify app.iso --engine podman --expect acme/app:1.2 --firmware all
  remaster verify app.iso --engine docker --expect acme/db:5 --expect acme/app:1.2 \
    --store-device LABEL=remaster-store --power-cut acme/app:1.2
${EXIT}`,
  packages: `remaster packages fetch --engine docker|podman --iso <base.iso> --out <folder> [--package <deb>...]
  [-q|--quiet] [-v|--verbose]
Downloads the engine packages and every dependency the base's root lacks, for the base's release and
architecture, into <folder> (with packages.json). On a machine without network:
  remaster build --packages <folder> ...

Example:
  remaster packages fetch --engine podman --iso debian-live-12.iso --out debs/ --package jq
${EXIT}`,
  config: `remaster config list | get <key> | set <key> <value> | unset <key>
User defaults (flags and the config file win over them): cacheDir, engine, verify, accel.
Stored in ~/.config/remaster/config.json (REMASTER_CONFIG_DIR moves it).
Example:
  remaster config set engine podman
${EXIT}`,
  doctor: `remaster doctor [--json]: the tools, versions, privileges and accelerator remaster would use,
and the apt-get command that installs whatever is missing. Exit 0 when nothing is missing, 1 otherwise.

Example:
  remaster doctor --json | jq '.checks[] | select(.ok | not)'
${EXIT}`,
  demo: `remaster demo [--engine docker|podman] [--out <path>] [--verify bios|uefi|all|none]
              [-q|--quiet] [-v|--verbose] [--log-file <file>] [--json]
Builds a small Debian live base ISO from Debian packages (cached), a busybox image without any registry,
remasters the base with it and boots the result.

Examples:
  remaster demo
  remaster demo --engine podman --verify all --out /tmp/demo.iso
${EXIT}`,
} as const;
