// One table for every config key: its JSON Schema type, default and documentation. `remaster schema` exports
// it for editors; load.ts validates against the same names and values (a unit test keeps the two in step).

type JsonSchema = Record<string, unknown>;

interface KeySpec {
  doc: string;
  schema: JsonSchema;
}

const str = (doc: string, extra: JsonSchema = {}): KeySpec => ({ doc, schema: { type: 'string', ...extra } });
const oneOf = (doc: string, values: readonly string[], dflt?: string): KeySpec => ({
  doc,
  schema: { type: 'string', enum: values, ...(dflt === undefined ? {} : { default: dflt }) },
});
const bool = (doc: string, dflt: boolean): KeySpec => ({ doc, schema: { type: 'boolean', default: dflt } });
const strings = (doc: string): KeySpec => ({ doc, schema: { type: 'array', items: { type: 'string' } } });
const listOrOne = (doc: string, values: readonly string[], dflt: string): KeySpec => ({
  doc,
  schema: {
    oneOf: [
      { type: 'string', enum: values },
      { type: 'array', items: { type: 'string', enum: values } },
    ],
    default: dflt,
  },
});

/** A filesystem the guest finds by tag or path; rendered into a shell script, so only shell-safe characters. */
export const STORE_DEVICE_PATTERN = '^((LABEL|UUID|PARTLABEL|PARTUUID)=[A-Za-z0-9._-]{1,64}|/dev/[A-Za-z0-9._/-]{1,100})$';

export const FIRMWARE_VALUES = ['none', 'bios', 'uefi', 'all'] as const;
export const MEDIA_VALUES = ['cdrom', 'usb', 'all'] as const;

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

export const SCHEMA = {
  iso: str('path of the base ISO'),
  out: str('path of the ISO to write'),
  engine: oneOf('container engine to install', ['docker', 'podman']),
  images: { doc: 'images to preload', schema: { type: 'array', minItems: 1, items: imageSchema } },
  verify: listOrOne('firmwares to boot the result under in QEMU', FIRMWARE_VALUES, 'bios'),
  verifyMedia: listOrOne('attach the ISO as a CD-ROM and/or a USB stick when verifying', MEDIA_VALUES, 'cdrom'),
  evidenceDir: str('where verification evidence goes (default <work dir>/verify)'),
  compression: oneOf('image archive compression', ['zstd', 'gzip', 'xz', 'none'], 'zstd'),
  compressionLevel: { doc: 'compressor level (zstd 1-22, gzip/xz 1-9)', schema: { type: 'integer', minimum: 1, maximum: 22 } },
  squashfsLevel: {
    doc: "level of the squashfs we write (zstd 1-22, gzip 1-9; the base's algorithm and block size are kept); default 3 for a layer, mksquashfs' default for a rebuilt root",
    schema: { type: 'integer', minimum: 1, maximum: 22 },
  },
  rootfsMode: oneOf('add a squashfs layer where the base allows it, or rebuild the root', ['auto', 'layer', 'rebuild'], 'auto'),
  extraPackages: strings('more Debian packages to install with the engine'),
  packages: str('folder of .debs made by remaster packages fetch: install the engine offline'),
  deleteAfterLoad: bool('delete each archive once it is loaded and verified', false),
  podmanStore: oneOf('podman: load archives at boot, or ship a ready read-only image store', ['load', 'ready'], 'load'),
  tmpfsSize: str('size of the engine store tmpfs on a live root', { default: '75%', pattern: '^(\\d{1,3}%|\\d+[kKmMgG]?)$' }),
  storeDevice: str(
    'live root: keep the engine store on this filesystem (LABEL=, UUID=, PARTLABEL=, PARTUUID= or /dev/...) when it is present at boot, so loaded images survive a reboot; default: a tmpfs',
    { pattern: STORE_DEVICE_PATTERN },
  ),
  accel: oneOf('QEMU accelerator for verification', ['auto', 'kvm', 'tcg'], 'auto'),
  verifyTimeout: { doc: 'seconds to wait for the guest report', schema: { type: 'integer', minimum: 10 } },
  registryAuthFile: str('containers auth.json for registry sources (credentials themselves only via environment)'),
  cacheDir: str('cache directory (default $REMASTER_CACHE_DIR or ~/.cache/remaster)'),
  workDir: str('work directory (default <cacheDir>/work/<hash of out>)'),
  keepWork: bool('keep the work directory after a successful build', false),
  engineCache: bool('layer mode: reuse the engine install of an earlier build on the same base with the same resolved packages', true),
  kernelArgs: strings('extra kernel arguments for every boot menu entry that starts the live system'),
  serialConsole: bool('boot menus and kernel on the serial console too (ttyS0, 115200 baud)', false),
  menuTitle: str('boot menu title (isolinux) and name of the first GRUB entry', { pattern: '^[^"\\\\$\\n]{1,60}$' }),
  menuTimeout: { doc: 'seconds the boot menus wait before the default entry', schema: { type: 'integer', minimum: 0, maximum: 3600 } },
  diskInfo: str('new text for .disk/info (the medium name installers show); default: kept', { pattern: '^[^\\n]{1,200}$' }),
  resume: bool('skip stages whose inputs did not change since the last (interrupted or failed) run in the work directory', true),
} satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof SCHEMA;

/** The JSON Schema of remaster.yml / remaster.json, for editors (yaml-language-server, VS Code). */
export function jsonSchema(): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [key, spec] of Object.entries(SCHEMA)) properties[key] = { description: spec.doc, ...spec.schema };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://remaster.invalid/remaster.schema.json',
    title: 'remaster build configuration',
    type: 'object',
    additionalProperties: false,
    required: ['iso', 'out', 'engine', 'images'],
    properties,
  };
}
