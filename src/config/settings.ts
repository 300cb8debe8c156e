// The one settings table. Each entry is a setting's whole story: its key in remaster.yml, how a value is checked,
// its default, its documentation, its JSON Schema, and the flag each verb knows it by. The config type, the JSON
// Schema (`remaster schema`), config-file validation, flag parsing, flag-to-key mapping, user defaults and the
// options part of every --help are derived from it (mkosi's ConfigSetting list is the model).
//
// Adding a setting: one entry here, then its use. Options that exist only on the command line (--json, --expect)
// are entries too, without a schema: they never reach remaster.yml or the build config.
import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { Accel, Compression, Engine, ImageStore, RootfsMode, Target } from '../types.js';
import { defaultCacheDir } from './paths.js';
import {
  bool,
  existingFile,
  existingFolder,
  int,
  kernelArgs,
  matching,
  menuText,
  oneOf,
  packageNames,
  parseImages,
  parseMedia,
  parseVerify,
  path,
  str,
} from './parse.js';

export type JsonSchema = Record<string, unknown>;

/** The commands that take flags. */
export type Verb = 'build' | 'verify' | 'packages' | 'demo' | 'inspect' | 'doctor';

/** How one verb spells a setting on its command line. */
export interface Flag {
  /** Without the leading dashes. */
  name: string;
  short?: string;
  /** The value's placeholder in --help ("<size>"); none: a switch. */
  arg?: string;
  /** Repeatable: each use adds one item to the list. */
  multiple?: boolean;
  /** A switch that sets this value (--no-resume sets resume to false); default true. */
  sets?: unknown;
  /** Earlier names still accepted. */
  aliases?: readonly string[];
  /** This verb's own wording, when it differs from the setting's doc. */
  doc?: string;
}

export interface Setting {
  readonly key: string;
  readonly doc: string;
  /** Earlier names of this key in a config file, still read (podmanStore became imageStore when docker got a ready store). */
  readonly formerKeys?: readonly string[];
  /** Its JSON Schema in remaster.yml. None: a command-line option, never in a config file or the build config. */
  readonly schema?: JsonSchema;
  /** Check and convert a value from a config file or a flag (`where` names it in messages). */
  parse(where: string, value: unknown): unknown;
  /** Used when nothing sets it (shown in --help); a function of the environment when it depends on it. */
  readonly default?: unknown;
  /** Read from the environment when nothing else sets it, before the default (REMASTER_ACCEL, SOURCE_DATE_EPOCH). */
  fromEnv?(env: NodeJS.ProcessEnv): unknown;
  /** An option of the command line only: never in remaster.yml nor in the build config. */
  readonly cli?: true;
  /** A config file key that makes several builds of one file (variants): never in one build's config. */
  readonly expands?: true;
  /** The build cannot go without it: what to say when it is missing. */
  readonly required?: { message: string; hint: string };
  /** Relative paths in a config file are relative to the file: 'path' for one path, 'images' for image sources. */
  readonly paths?: 'path' | 'images';
  /** `remaster config set` may keep a default for it. */
  readonly userDefault?: boolean;
  /** Checks against other settings, once all are parsed. */
  check?(config: Readonly<Record<string, unknown>>): void;
  readonly flags?: Partial<Record<Verb, Flag>>;
}

/** An entry whose key, value type and default the config type can see. */
function setting<const S extends Setting>(s: S): S {
  return s;
}

/** A filesystem the guest finds by tag or path; rendered into a shell script, so only shell-safe characters. */
export const STORE_DEVICE_PATTERN = '^((LABEL|UUID|PARTLABEL|PARTUUID)=[A-Za-z0-9._-]{1,64}|/dev/[A-Za-z0-9._/-]{1,100})$';
export const FIRMWARE_VALUES = ['none', 'bios', 'uefi', 'uefi-sb', 'all'] as const;
export const MEDIA_VALUES = ['cdrom', 'usb', 'all'] as const;
const COMPRESSIONS = ['zstd', 'gzip', 'xz', 'none'] as const;

const string = (extra: JsonSchema = {}): JsonSchema => ({ type: 'string', ...extra });
const enumOf = (values: readonly string[], dflt?: string): JsonSchema => ({
  type: 'string',
  enum: values,
  ...(dflt === undefined ? {} : { default: dflt }),
});
const listOrOne = (values: readonly string[], dflt: string): JsonSchema => ({
  oneOf: [
    { type: 'string', enum: values },
    { type: 'array', items: { type: 'string', enum: values } },
  ],
  default: dflt,
});
const strings: JsonSchema = { type: 'array', items: { type: 'string' } };

const runSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$', description: 'container and unit name' },
    command: { type: 'array', items: { type: 'string' }, description: 'command and arguments' },
    ports: { type: 'array', items: { type: 'string' }, description: 'port mappings like 8080:80' },
    env: { type: 'array', items: { type: 'string' }, description: 'KEY=VALUE' },
    volumes: { type: 'array', items: { type: 'string' }, description: '/host:/container[:ro]' },
    restart: { type: 'string', enum: ['no', 'always', 'on-failure'], default: 'always' },
    network: { type: 'string', enum: ['host', 'bridge'] },
    checkPort: { type: 'integer', minimum: 1, maximum: 65535, description: 'verification probes this port with an HTTP GET' },
  },
};

const imageSchema: JsonSchema = {
  oneOf: [
    {
      type: 'string',
      description:
        'app.tar, docker-archive:app.tar[=name:tag], rootfs:root.tar=name:tag, docker://..., oci-archive:..., oci:..., docker-daemon:...',
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['source'],
      properties: {
        source: { type: 'string' },
        ref: { type: 'string', description: 'name:tag the engine will list' },
        cmd: { type: 'array', items: { type: 'string' }, description: 'default command (rootfs sources)' },
        tlsVerify: { type: 'boolean', description: 'docker:// sources only; false for a plain-HTTP registry' },
        run: runSchema,
      },
    },
  ],
};

/** Output options every verb that runs a pipeline shares. */
const quiet = { name: 'quiet', short: 'q' } as const;
const verbose = { name: 'verbose', short: 'v' } as const;

export const SETTINGS = [
  setting({
    key: 'variants',
    expands: true,
    doc: "config file only: several builds in one run, one per entry; each entry holds its own keys (out, images, diskInfo, kernelArgs, target, ...) over the file's, plus an optional name; they share the base inspection, the engine install and identical image archives",
    schema: {
      type: 'array',
      minItems: 1,
      items: { type: 'object', required: ['out'], properties: { name: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$' } } },
    },
    parse: (_k: string, v: unknown) => v,
  }),
  setting({
    key: 'config',
    cli: true,
    doc: 'YAML or JSON file with the same keys (flags override it)',
    parse: (k: string, v: unknown) => path(k, v),
    flags: { build: { name: 'config', short: 'c', arg: '<file>' } },
  }),
  setting({
    key: 'iso',
    doc: 'path of the base ISO',
    schema: string(),
    paths: 'path',
    required: { message: 'no base ISO given', hint: 'pass --iso <base.iso> (or iso: in the config file)' },
    parse: (k: string, v: unknown) => path(k, v),
    flags: {
      build: { name: 'iso', arg: '<path>', doc: 'base ISO (Debian live, Ubuntu casper single or layered)' },
      packages: { name: 'iso', arg: '<base.iso>', doc: 'the base ISO whose release and architecture the packages are for' },
    },
  }),
  setting({
    key: 'out',
    doc: 'path of the ISO to write',
    schema: string(),
    paths: 'path',
    required: { message: 'no output path given', hint: 'pass --out <new.iso> (or out: in the config file)' },
    parse: (k: string, v: unknown) => path(k, v),
    flags: {
      build: { name: 'out', short: 'o', arg: '<path>', doc: 'ISO to write (written beside, renamed when verified)' },
      demo: { name: 'out', short: 'o', arg: '<path>', doc: 'ISO to write (default remaster-demo-<engine>.iso)' },
      packages: { name: 'out', short: 'o', arg: '<folder>', doc: 'folder for the .debs and packages.json' },
    },
  }),
  setting({
    key: 'engine',
    doc: 'container engine to install',
    schema: enumOf(['docker', 'podman']),
    required: { message: 'no engine given', hint: 'pass --engine docker or --engine podman' },
    userDefault: true,
    parse: (k: string, v: unknown): Engine => oneOf(k, v, ['docker', 'podman'] as const),
    flags: {
      build: { name: 'engine', arg: 'docker|podman', doc: "engine to install from the base's apt sources" },
      verify: { name: 'engine', arg: 'docker|podman', doc: 'the engine the ISO carries' },
      demo: { name: 'engine', arg: 'docker|podman', doc: 'engine of the demo ISO (default docker)' },
      packages: { name: 'engine', arg: 'docker|podman' },
    },
  }),
  setting({
    key: 'images',
    doc: 'images to preload',
    schema: { type: 'array', minItems: 1, items: imageSchema },
    paths: 'images',
    // Required by a build; `packages fetch` waives it and gets none.
    required: { message: 'no images given', hint: 'pass --image <archive.tar> at least once' },
    default: [],
    parse: parseImages,
    flags: {
      build: {
        name: 'image',
        arg: '<source>',
        multiple: true,
        doc: 'repeatable: app.tar (docker save / podman save), docker-archive:app.tar=name:tag (rename), rootfs:root.tar=name:tag, docker://registry/app:1, oci-archive:app.tar=name:tag, oci:<layout>[:tag]=name:tag, docker-daemon:app:1',
      },
    },
  }),
  setting({
    key: 'verify',
    doc: 'firmwares to boot the result under in QEMU',
    schema: listOrOne(FIRMWARE_VALUES, 'bios'),
    default: 'bios',
    userDefault: true,
    parse: parseVerify,
    flags: {
      build: {
        name: 'verify',
        arg: 'none|bios|uefi|uefi-sb|all',
        doc: 'boot the result in QEMU and check the images (uefi-sb: Secure Boot enforced; all: bios and uefi)',
      },
      verify: { name: 'firmware', arg: 'bios|uefi|uefi-sb|all' },
      demo: { name: 'verify', arg: 'none|bios|uefi|uefi-sb|all' },
    },
  }),
  setting({
    key: 'verifyMedia',
    doc: 'attach the ISO as a CD-ROM and/or a USB stick when verifying',
    schema: listOrOne(MEDIA_VALUES, 'cdrom'),
    default: 'cdrom',
    parse: parseMedia,
    flags: { build: { name: 'verify-media', arg: 'cdrom|usb|all' }, verify: { name: 'media', arg: 'cdrom|usb|all' } },
  }),
  setting({
    key: 'verifyInstall',
    doc: 'also install the ISO in QEMU with its own installer onto a blank disk, then boot that disk and check the images there (target both; target installed always does)',
    schema: { type: 'boolean', default: false },
    default: false,
    parse: (k: string, v: unknown) => bool(k, v),
    flags: {
      build: { name: 'verify-install' },
      verify: {
        name: 'install',
        doc: 'install the ISO with its own installer onto a blank disk in QEMU, boot that disk, check the images there',
      },
    },
  }),
  setting({
    key: 'evidenceDir',
    doc: 'where verification evidence goes (default <work dir>/verify)',
    schema: string(),
    paths: 'path',
    parse: (k: string, v: unknown) => path(k, v),
    flags: {
      build: { name: 'evidence-dir', arg: '<dir>', doc: 'serial logs, screenshots, verify.json and junit.xml (default: in the work dir)' },
      verify: {
        name: 'evidence-dir',
        arg: '<dir>',
        aliases: ['work-dir'],
        doc: 'serial logs, screenshots, verify.json, junit.xml (default <cache>/verify/<iso name>-<hash of its path>)',
      },
    },
  }),
  setting({
    key: 'target',
    doc: 'what gets the engine and images: the live session, systems installed from the ISO, or both; default both where the base carries an installer remaster can reach, else live',
    schema: enumOf(['live', 'installed', 'both']),
    parse: (k: string, v: unknown): Target => oneOf(k, v, ['live', 'installed', 'both'] as const),
    check: (c) => {
      if (c.imageStore === 'ready' && (c.target === 'installed' || c.target === 'both')) {
        throw new UsageError(
          `target: ${c.target} needs the archives on the installed system; imageStore ready ships them as a store for live boots only`,
          {
            hint: 'use --image-store load with --target installed or both, or --target live with the ready store',
          },
        );
      }
    },
    flags: { build: { name: 'target', arg: 'live|installed|both' } },
  }),
  setting({
    key: 'preseed',
    doc: "a d-i preseed file with the site's answers: embedded in every d-i initrd of the ISO (merged with the medium's own; remaster's late commands are appended to yours)",
    schema: string(),
    paths: 'path',
    parse: (k: string, v: unknown) => existingFile(k, v),
    flags: { build: { name: 'preseed', arg: '<file>' } },
  }),
  setting({
    key: 'autoinstall',
    doc: "subiquity's autoinstall file (Ubuntu server 22.04+, desktop 24.04+): embedded as /autoinstall.yaml, which subiquity reads from 24.04 on; kept as written (the payload needs no late-commands)",
    schema: string(),
    paths: 'path',
    parse: (k: string, v: unknown) => existingFile(k, v),
    flags: { build: { name: 'autoinstall', arg: '<file>' } },
  }),
  setting({
    key: 'autoinstallUnattended',
    doc: 'with autoinstall: also a NoCloud seed (/nocloud/) and the kernel arguments `autoinstall ds=nocloud;s=/cdrom/nocloud/` in every live entry, so any release installs with no question (and wipes the disk it chooses)',
    schema: { type: 'boolean', default: false },
    default: false,
    parse: (k: string, v: unknown) => bool(k, v),
    flags: { build: { name: 'autoinstall-unattended' } },
  }),
  setting({
    key: 'compression',
    doc: 'image archive compression',
    schema: enumOf(COMPRESSIONS, 'zstd'),
    default: 'zstd',
    parse: (k: string, v: unknown): Compression => oneOf(k, v, COMPRESSIONS),
    flags: { build: { name: 'compression', arg: 'zstd|gzip|xz|none' }, packages: { name: 'compression', arg: 'zstd|gzip|xz|none' } },
  }),
  setting({
    key: 'compressionLevel',
    doc: 'compressor level (zstd 1-22, gzip/xz 1-9)',
    schema: { type: 'integer', minimum: 1, maximum: 22 },
    parse: (k: string, v: unknown) => int(k, v, 1, 22),
    check: (c) => {
      if (c.compression !== 'zstd' && c.compressionLevel !== undefined) int('compressionLevel', c.compressionLevel, 1, 9);
    },
    flags: { build: { name: 'compression-level', arg: '<n>' } },
  }),
  setting({
    key: 'squashfsLevel',
    doc: "level of the squashfs we write (zstd 1-22, gzip 1-9; a layer's compressor is what the base kernel mounts fastest, a rebuilt root keeps the base's; block size is the base's); default 3 for a layer, mksquashfs' default for a rebuilt root",
    schema: { type: 'integer', minimum: 1, maximum: 22 },
    parse: (k: string, v: unknown) => int(k, v, 1, 22),
    flags: { build: { name: 'squashfs-level', arg: '<n>', doc: 'zstd/gzip level of the squashfs written (default 3 for a layer)' } },
  }),
  setting({
    key: 'rootfsMode',
    doc: 'add a squashfs layer where the base allows it, or rebuild the root',
    schema: enumOf(['auto', 'layer', 'rebuild'], 'auto'),
    default: 'auto',
    parse: (k: string, v: unknown): RootfsMode => oneOf(k, v, ['auto', 'layer', 'rebuild'] as const),
    flags: { build: { name: 'rootfs-mode', arg: 'auto|layer|rebuild' } },
  }),
  setting({
    key: 'extraPackages',
    doc: 'more Debian packages to install with the engine',
    schema: strings,
    default: [],
    parse: (k: string, v: unknown) => packageNames(k, v),
    flags: {
      build: { name: 'package', arg: '<deb>', multiple: true, doc: 'repeatable: more packages to install with the engine' },
      packages: { name: 'package', arg: '<deb>', multiple: true, doc: 'repeatable: more packages to fetch with the engine' },
    },
  }),
  setting({
    key: 'packages',
    doc: 'folder of .debs made by remaster packages fetch: install the engine offline',
    schema: string(),
    paths: 'path',
    parse: (k: string, v: unknown) =>
      existingFolder(k, v, 'make it with: remaster packages fetch --engine <engine> --iso <base> --out <dir>'),
    flags: { build: { name: 'packages', arg: '<folder>', doc: 'install offline from a folder made by remaster packages fetch' } },
  }),
  setting({
    key: 'mirror',
    doc: "Debian mirror the engine's packages come from when the base is a netinst or DVD image (it has no live root whose apt sources could say); offline sites use packages instead",
    schema: string(),
    default: 'http://deb.debian.org/debian',
    parse: (k: string, v: unknown) => matching(k, v, /^(https?|file):\/\/[^\s]+$/, 'an http(s):// or file:// URL'),
    flags: {
      build: { name: 'mirror', arg: '<url>' },
      packages: { name: 'mirror', arg: '<url>' },
    },
  }),
  setting({
    key: 'deleteAfterLoad',
    doc: 'delete each archive once it is loaded and verified',
    schema: { type: 'boolean', default: false },
    default: false,
    parse: (k: string, v: unknown) => bool(k, v),
    flags: { build: { name: 'delete-after-load', doc: 'the loader deletes each archive after a verified load' } },
  }),
  setting({
    key: 'imageStore',
    formerKeys: ['podmanStore'],
    doc: 'load the archives at boot, or ship a ready image store on the medium (podman: a read-only additional store; docker: its data root as an ext4 image made writable by a device-mapper snapshot)',
    schema: enumOf(['load', 'ready'], 'load'),
    default: 'load',
    parse: (k: string, v: unknown): ImageStore => oneOf(k, v, ['load', 'ready'] as const),
    flags: {
      build: {
        name: 'image-store',
        arg: 'load|ready',
        aliases: ['podman-store'],
        doc: 'ready: the images travel as a ready store on the medium, usable at boot with no load (live target)',
      },
    },
  }),
  setting({
    key: 'tmpfsSize',
    doc: 'size of the engine store tmpfs on a live root',
    schema: string({ default: '75%', pattern: '^(\\d{1,3}%|\\d+[kKmMgG]?)$' }),
    default: '75%',
    parse: (k: string, v: unknown) => matching(k, v, /^(\d{1,3}%|\d+[kKmMgG]?)$/, 'a size like "75%", "4G" or "512M"'),
    flags: { build: { name: 'tmpfs-size', arg: '<size>', doc: 'engine store tmpfs on a live root' } },
  }),
  setting({
    key: 'storeDevice',
    doc: 'live root: keep the engine store on this filesystem (LABEL=, UUID=, PARTLABEL=, PARTUUID= or /dev/...) when it is present at boot, so loaded images survive a reboot; default: a tmpfs',
    schema: string({ pattern: STORE_DEVICE_PATTERN }),
    parse: (k: string, v: unknown) =>
      matching(
        k,
        v,
        new RegExp(STORE_DEVICE_PATTERN),
        'LABEL=<label>, UUID=<uuid>, PARTLABEL=<name>, PARTUUID=<uuid> or a /dev/ path (letters, digits, . _ - only)',
      ),
    flags: {
      build: {
        name: 'store-device',
        arg: '<dev>',
        doc: 'live root: engine store on this filesystem when present (LABEL=remaster-store), so images loaded once survive reboots; tmpfs when absent',
      },
      verify: {
        name: 'store-device',
        arg: 'LABEL=<l>|UUID=<u>',
        doc: "the ISO's --store-device: each boot gets a fresh ext4 disk with that label, and the engine store must be on it",
      },
    },
  }),
  setting({
    key: 'accel',
    doc: 'QEMU accelerator for verification',
    schema: enumOf(['auto', 'kvm', 'tcg'], 'auto'),
    default: 'auto',
    fromEnv: (env) => env.REMASTER_ACCEL || undefined,
    userDefault: true,
    parse: (k: string, v: unknown): Accel => oneOf(k, v, ['auto', 'kvm', 'tcg'] as const),
    flags: {
      build: { name: 'accel', arg: 'auto|kvm|tcg' },
      verify: { name: 'accel', arg: 'auto|kvm|tcg' },
      demo: { name: 'accel', arg: 'auto|kvm|tcg' },
    },
  }),
  setting({
    key: 'verifyTimeout',
    doc: 'seconds to wait for the guest report',
    schema: { type: 'integer', minimum: 10 },
    parse: (k: string, v: unknown) => int(k, v, 10, 24 * 3600),
    flags: { build: { name: 'verify-timeout', arg: '<seconds>' }, verify: { name: 'timeout', arg: '<seconds>' } },
  }),
  setting({
    key: 'registryAuthFile',
    doc: 'containers auth.json for registry sources (credentials themselves only via environment)',
    schema: string(),
    paths: 'path',
    fromEnv: (env) => env.REMASTER_REGISTRY_AUTH_FILE || undefined,
    parse: (k: string, v: unknown) => {
      const file = path(k, v);
      if (!existsSync(file))
        throw new UsageError(`registry auth file ${file} does not exist`, { hint: 'check registryAuthFile / REMASTER_REGISTRY_AUTH_FILE' });
      return file;
    },
  }),
  setting({
    key: 'cacheDir',
    doc: 'cache directory (default $REMASTER_CACHE_DIR or ~/.cache/remaster)',
    schema: string(),
    paths: 'path',
    default: (env: NodeJS.ProcessEnv) => defaultCacheDir(env),
    userDefault: true,
    parse: (k: string, v: unknown) => path(k, v),
    flags: {
      build: { name: 'cache-dir', arg: '<dir>' },
      demo: { name: 'cache-dir', arg: '<dir>' },
      packages: { name: 'cache-dir', arg: '<dir>' },
    },
  }),
  setting({
    key: 'workDir',
    doc: 'work directory (default <cacheDir>/work/<hash of out>)',
    schema: string(),
    paths: 'path',
    parse: (k: string, v: unknown) => path(k, v),
    flags: { build: { name: 'work-dir', arg: '<dir>' } },
  }),
  setting({
    key: 'keepWork',
    doc: 'keep the work directory after a successful build',
    schema: { type: 'boolean', default: false },
    default: false,
    parse: (k: string, v: unknown) => bool(k, v),
    flags: { build: { name: 'keep-work' } },
  }),
  setting({
    key: 'engineCache',
    doc: 'layer mode: reuse the engine install of an earlier build on the same base with the same resolved packages',
    schema: { type: 'boolean', default: true },
    default: true,
    parse: (k: string, v: unknown) => bool(k, v),
    flags: {
      build: {
        name: 'no-engine-cache',
        sets: false,
        doc: 'install the engine with apt/dpkg even when an earlier build on the same base cached that exact install (<cache>/engine)',
      },
    },
  }),
  setting({
    key: 'kernelArgs',
    doc: 'extra kernel arguments for every boot menu entry that starts the live system',
    schema: strings,
    default: [],
    parse: (k: string, v: unknown) => kernelArgs(k, v),
    flags: {
      build: { name: 'kernel-arg', arg: '<arg>', multiple: true, doc: 'repeatable: added to every boot entry that starts the live system' },
    },
  }),
  setting({
    key: 'serialConsole',
    doc: 'boot menus and kernel on the serial console too (ttyS0, 115200 baud)',
    schema: { type: 'boolean', default: false },
    default: false,
    parse: (k: string, v: unknown) => bool(k, v),
    flags: {
      build: {
        name: 'serial-console',
        doc: 'menus and kernel also on ttyS0 at 115200 baud (isolinux/serial.cfg, templates/grub-serial.cfg)',
      },
    },
  }),
  setting({
    key: 'menuTitle',
    doc: 'boot menu title (isolinux) and name of the first GRUB entry',
    schema: string({ pattern: '^[^"\\\\$\\n]{1,60}$' }),
    parse: (k: string, v: unknown) => menuText(k, v, 60, /["\\$\n\r]/),
    flags: { build: { name: 'menu-title', arg: '<text>' } },
  }),
  setting({
    key: 'menuTimeout',
    doc: 'seconds the boot menus wait before the default entry',
    schema: { type: 'integer', minimum: 0, maximum: 3600 },
    parse: (k: string, v: unknown) => int(k, v, 0, 3600),
    flags: { build: { name: 'menu-timeout', arg: '<seconds>' } },
  }),
  setting({
    key: 'diskInfo',
    doc: 'new text for .disk/info (the medium name installers show); default: kept',
    schema: string({ pattern: '^[^\\n]{1,200}$' }),
    parse: (k: string, v: unknown) => menuText(k, v, 200, /[\n\r]/),
    flags: { build: { name: 'disk-info', arg: '<text>' } },
  }),
  setting({
    key: 'resume',
    doc: 'skip stages whose inputs did not change since the last (interrupted or failed) run in the work directory',
    schema: { type: 'boolean', default: true },
    default: true,
    parse: (k: string, v: unknown) => bool(k, v),
    flags: {
      build: {
        name: 'no-resume',
        sets: false,
        doc: 'redo every stage (default: a rerun after an interrupted or failed build skips the stages whose inputs did not change)',
      },
    },
  }),
  setting({
    key: 'sourceDateEpoch',
    doc: 'SOURCE_DATE_EPOCH: fixes file times and dates for reproducible output',
    fromEnv: (env) => (env.SOURCE_DATE_EPOCH === '' ? undefined : env.SOURCE_DATE_EPOCH),
    // From the environment only: not a key of remaster.yml, but the build config carries it.
    parse: (_k: string, v: unknown) => int('SOURCE_DATE_EPOCH', v, 0, 2 ** 40),
  }),
  // Command-line options: how a verb runs and reports, never part of a build's settings.
  setting({
    key: 'expect',
    cli: true,
    doc: 'repeatable: an image the guest must hold (name:tag, or name:tag@sha256:<id> to require its ID)',
    parse: (k: string, v: unknown) => (Array.isArray(v) ? v.map((e, i) => str(`${k}[${i}]`, e)) : [str(k, v)]),
    flags: { verify: { name: 'expect', arg: '<name:tag[@sha256:id]>', multiple: true } },
  }),
  setting({
    key: 'powerCut',
    cli: true,
    doc: 'with --store-device: cut the power while that image loads, boot again from the same disk; every image must be there and the loader must report the interrupted load (evidence of the cut boot in power-cut/)',
    parse: (k: string, v: unknown) => str(k, v),
    flags: { verify: { name: 'power-cut', arg: '<name:tag>' } },
  }),
  setting({
    key: 'json',
    cli: true,
    doc: 'print the result as JSON on stdout',
    parse: (k: string, v: unknown) => bool(k, v),
    flags: {
      build: { name: 'json', doc: 'print the build report as JSON on stdout (also for a failed build)' },
      demo: { name: 'json', doc: 'print the build report as JSON on stdout' },
      verify: { name: 'json', doc: 'print the outcomes as JSON on stdout' },
      inspect: { name: 'json', doc: 'print the facts as JSON on stdout' },
      doctor: { name: 'json', doc: 'print the checks as JSON on stdout' },
    },
  }),
  setting({
    key: 'logFile',
    cli: true,
    doc: 'append every stage event and progress line (with -v, every command line and tool output too), timestamped, whatever the terminal shows',
    parse: (k: string, v: unknown) => path(k, v),
    flags: { build: { name: 'log-file', arg: '<file>' }, demo: { name: 'log-file', arg: '<file>' } },
  }),
  setting({
    key: 'quiet',
    cli: true,
    doc: 'no progress on stderr (errors and the report remain)',
    parse: (k: string, v: unknown) => bool(k, v),
    flags: { build: quiet, demo: quiet, packages: quiet },
  }),
  setting({
    key: 'verbose',
    cli: true,
    doc: "also each external command line (credentials masked) and the tools' own output, as plain timestamped lines",
    parse: (k: string, v: unknown) => bool(k, v),
    flags: {
      build: verbose,
      demo: verbose,
      packages: verbose,
      verify: { ...verbose, doc: 'also the QEMU command line and its output' },
    },
  }),
] as const;

export type SettingEntry = (typeof SETTINGS)[number];
type ConfigEntry = Exclude<SettingEntry, { cli: true } | { expands: true }>;
type ValueOf<E> = E extends { parse(where: string, value: unknown): infer T }
  ? E extends { default: unknown } | { required: unknown }
    ? T
    : T | undefined
  : never;

/** The settings of a build, as the table defines them (keys of remaster.yml, plus SOURCE_DATE_EPOCH). */
export type BuildSettings = { readonly [E in ConfigEntry as E['key']]: ValueOf<E> };
/** A settings key (a key of remaster.yml, or an option of the command line). */
export type SettingKey = SettingEntry['key'];
