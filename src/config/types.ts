// The build configuration: one frozen object that every stage reads.
import type { CompressionSettings } from '../images/compress.js';
import type { Accel, Engine, Firmware, ImageSpec, Media, RegistryAuth, RootfsMode } from '../types.js';

export interface BuildConfig {
  iso: string;
  out: string;
  engine: Engine;
  images: ImageSpec[];
  /** Firmwares to boot the result under; empty = no verification. */
  verify: Firmware[];
  /** Media to boot from under each firmware (default cdrom). */
  verifyMedia: Media[];
  /** Verification evidence (per-run logs and screenshots, verify.json, junit.xml); default <workspace>/verify. */
  evidenceDir?: string | undefined;
  compression: CompressionSettings;
  rootfsMode: RootfsMode;
  /** Level of the squashfs we write (zstd/gzip); undefined = 3 for a layer, mksquashfs' default for a rebuild. */
  squashfsLevel?: number | undefined;
  /** A folder of .debs from `remaster packages fetch`: install offline from it. */
  packagesDir?: string | undefined;
  /** Extra Debian packages to install with the engine. */
  extraPackages: string[];
  deleteAfterLoad: boolean;
  /** podman only: load archives at boot, or ship a ready (read-only) image store on the medium. */
  podmanStore: 'load' | 'ready';
  tmpfsSize: string;
  /** Live root: the filesystem that holds the engine store when present at boot (else a tmpfs). */
  storeDevice?: string | undefined;
  accel: Accel;
  /** Seconds; undefined = the default for the accelerator. */
  verifyTimeout?: number | undefined;
  cacheDir: string;
  /** Defaults to <cacheDir>/work/<hash of the output path>. */
  workDir?: string | undefined;
  keepWork: boolean;
  /** Layer mode: reuse a cached engine install (same base content, same resolved packages). */
  engineCache: boolean;
  /** Boot menu edits; all empty/undefined = the menus are kept byte for byte. */
  boot: { kernelArgs: string[]; serialConsole: boolean; menuTitle?: string | undefined; menuTimeout?: number | undefined };
  /** New .disk/info text; undefined keeps the base's. */
  diskInfo?: string | undefined;
  /** Reuse the recorded output of stages whose inputs did not change (false: --no-resume, redo everything). */
  resume: boolean;
  /** SOURCE_DATE_EPOCH: fixes file times and dates for reproducible output. */
  sourceDateEpoch?: number | undefined;
  /** From REMASTER_REGISTRY_AUTH_FILE, or REMASTER_REGISTRY_USER + REMASTER_REGISTRY_PASSWORD: never from a config file. */
  registryAuth: RegistryAuth;
}
