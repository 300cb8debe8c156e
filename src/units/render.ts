// Render templates/ into the files the new root gets: pure functions, no interpolation of unchecked values.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { decompressorCommand } from '../images/compress.js';
import type { Compression, Engine, RootFile } from '../types.js';

export const TEMPLATES_DIR = fileURLToPath(new URL('../../../templates/', import.meta.url));

export function readTemplate(name: string): string {
  return readFileSync(`${TEMPLATES_DIR}${name}`, 'utf8');
}

/** Values that may reach a unit file or a shell: one line, printable, no quotes or expansions. */
const SAFE_VALUE = /^[\w@%+=:,./ -]*$/;

/**
 * Replace every @@NAME@@ in text. Every placeholder must have a value and every value must be used;
 * values must match SAFE_VALUE, so nothing a user typed can become shell or unit syntax.
 */
export function render(text: string, values: Readonly<Record<string, string>>, name = 'template'): string {
  const used = new Set<string>();
  const out = text.replace(/@@([A-Z_]+)@@/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`${name}: no value for @@${key}@@`);
    if (!SAFE_VALUE.test(v)) throw new Error(`${name}: unsafe value for @@${key}@@: ${JSON.stringify(v)}`);
    used.add(key);
    return v;
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`${name}: values never used: ${unused.join(', ')}`);
  return out;
}

export interface LoaderSettings {
  engine: Engine;
  compression: Compression;
  deleteAfterLoad: boolean;
  /** tmpfs size for the engine store on a live root (mount -o size=...). */
  tmpfsSize: string;
  /** Live root: filesystem (LABEL=..., /dev/...) that keeps the engine store and loader state across boots. */
  storeDevice?: string | undefined;
  reportPort: string;
  /** docker with a ready store: /var/lib/docker is the store's snapshot, so the storage setup leaves it alone. */
  readyStore?: boolean | undefined;
}

export const PAYLOAD_DIR = '/var/lib/remaster';
/** The loader's own state (loaded markers, the image being loaded); on the store device when there is one. */
export const STATE_DIR = '/var/lib/remaster/state';
/** Where a store device is mounted; the store directories and STATE_DIR are bind mounts of folders in it. */
export const PERSIST_DIR = '/var/lib/remaster/persist';
const UNIT_DIR = 'usr/lib/systemd/system';
const DOCKER_DATA_ROOT = '/var/lib/docker';
const LIB_DIR = 'usr/lib/remaster';

const engineFacts: Record<Engine, { after: string; requires: string; before: string; stores: string[]; probe: string }> = {
  docker: {
    after: 'docker.service containerd.service',
    requires: 'Requires=docker.service',
    before: 'docker.service containerd.service',
    stores: [DOCKER_DATA_ROOT, '/var/lib/containerd'],
    probe: '/var/lib/docker',
  },
  podman: {
    // podman-restart starts on a fresh store at the same time: loading while it initialises the store has
    // been seen to end with no image, so the loader waits for it.
    after: 'podman.service podman-restart.service',
    requires: '',
    // No .socket units here: sockets start before basic.target, which this unit is after (a cycle systemd
    // breaks by dropping this unit: seen in a verify boot).
    before: 'podman.service podman-restart.service podman-auto-update.service',
    stores: ['/var/lib/containers/storage'],
    probe: '/var/lib/containers/storage',
  },
};

/** Every file the loader needs in the root, including enablement symlinks (what systemctl enable makes). */
export function loaderFiles(s: LoaderSettings): RootFile[] {
  const e = engineFacts[s.engine];
  const files: RootFile[] = [
    {
      path: `${LIB_DIR}/load-images`,
      mode: 0o755,
      content: render(
        readTemplate('load-images.sh'),
        {
          ENGINE: s.engine,
          PAYLOAD_DIR,
          DECOMPRESS: decompressorCommand(s.compression),
          DELETE_AFTER_LOAD: s.deleteAfterLoad ? 'yes' : 'no',
          STORE_DIR: e.probe,
          STATE_DIR,
        },
        'load-images.sh',
      ),
    },
    {
      path: `${UNIT_DIR}/remaster-loader.service`,
      mode: 0o644,
      content: render(
        readTemplate('remaster-loader.service'),
        { ENGINE: s.engine, AFTER: e.after, REQUIRES: e.requires, PAYLOAD_DIR },
        'remaster-loader.service',
      ),
    },
    {
      path: `${LIB_DIR}/storage-setup`,
      mode: 0o755,
      content: render(
        readTemplate('storage-setup.sh'),
        {
          STORE_DIRS: e.stores.filter((d) => !(s.readyStore && d === DOCKER_DATA_ROOT)).join(' '),
          TMPFS_SIZE: s.tmpfsSize,
          STORE_DEVICE: s.storeDevice ?? '',
          PERSIST_DIR,
          STATE_DIR,
        },
        'storage-setup.sh',
      ),
    },
    {
      path: `${UNIT_DIR}/remaster-storage.service`,
      mode: 0o644,
      content: render(readTemplate('remaster-storage.service'), { BEFORE: e.before }, 'remaster-storage.service'),
    },
    {
      path: `${LIB_DIR}/report`,
      mode: 0o755,
      content: render(readTemplate('report.sh'), { ENGINE: s.engine, REPORT_PORT: s.reportPort, STORE_PROBE: e.probe }, 'report.sh'),
    },
    {
      path: `${UNIT_DIR}/remaster-report.service`,
      mode: 0o644,
      content: render(readTemplate('remaster-report.service'), { AFTER: e.after }, 'remaster-report.service'),
    },
    {
      path: 'usr/lib/udev/rules.d/90-remaster-report.rules',
      mode: 0o644,
      content: render(readTemplate('90-remaster-report.rules'), { REPORT_PORT: s.reportPort }, '90-remaster-report.rules'),
    },
    {
      path: 'etc/systemd/system/multi-user.target.wants/remaster-loader.service',
      mode: 0o777,
      symlink: '/usr/lib/systemd/system/remaster-loader.service',
    },
    {
      path: 'etc/systemd/system/multi-user.target.wants/remaster-storage.service',
      mode: 0o777,
      symlink: '/usr/lib/systemd/system/remaster-storage.service',
    },
  ];
  return files;
}

/** Where the ready store squashfs sits on the medium and where it is mounted (live-boot's medium path). */
export const READY_STORE_ISO_PATH = '/remaster/store.squashfs';
export const READY_STORE_IMAGE = `/run/live/medium${READY_STORE_ISO_PATH}`;

/** Where the live system has its medium mounted: live-boot's /run/live/medium, casper's /cdrom. */
export function readyStoreImage(casper: boolean): string {
  return casper ? `/cdrom${READY_STORE_ISO_PATH}` : READY_STORE_IMAGE;
}
export const READY_STORE_DIR = '/var/lib/remaster/ready-store';
/**
 * Where the installer routes put the ready store on an installed disk (the d-i hook, Calamares' unpackfs): docker's
 * ext4 image (docker's data root there, read-write) or podman's squashfs (its additional image store, read-only).
 */
export const INSTALLED_STORE_DIR = '/var/lib/remaster/installed-store';
export function installedStoreFile(engine: Engine): string {
  return `${INSTALLED_STORE_DIR}/${engine === 'docker' ? DOCKER_STORE_FILE : 'store.squashfs'}`;
}
/** How an installer copies the store there: docker's files out of the squashfs (`unpack`), podman's squashfs as it is. */
export function installedStoreCopy(engine: Engine): 'unpack' | 'file' {
  return engine === 'docker' ? 'unpack' : 'file';
}

/**
 * Engine configuration that pins a storage driver, so a wrong one fails loudly instead of falling back;
 * with a ready store, podman also reads it as an additional (read-only) image store.
 */
export function engineConfigFiles(engine: Engine, existing: string | undefined, readyStore = false): RootFile[] {
  if (engine === 'podman') {
    if (existing !== undefined && readyStore) {
      throw new UsageError('the base already has /etc/containers/storage.conf: remaster cannot add its ready store to it safely', {
        hint: 'use --image-store load with this base',
      });
    }
    // READY_STORE_DIR is our own constant, not user input.
    const ready = readyStore ? `\n[storage.options]\nadditionalimagestores = ["${READY_STORE_DIR}"]\n` : '';
    return existing === undefined
      ? [{ path: 'etc/containers/storage.conf', mode: 0o644, content: readTemplate('podman-storage.conf') + ready }]
      : [];
  }
  const base = existing === undefined ? {} : (JSON.parse(existing) as Record<string, unknown>);
  if ('storage-driver' in base) return [];
  const merged = { ...base, ...(JSON.parse(readTemplate('docker-daemon.json')) as Record<string, unknown>) };
  return [{ path: 'etc/docker/daemon.json', mode: 0o644, content: `${JSON.stringify(merged, null, 2)}\n` }];
}

/** The file in docker's ready store squashfs: docker's data root, filled at build time by the dockerd the ISO ships. */
export const DOCKER_STORE_FILE = 'docker.ext4';

/**
 * The unit that readies the store before the engine starts, enabled for multi-user.target: podman's is a read-only
 * mount; docker's (a script) makes the store's ext4 image writable with a device-mapper snapshot and mounts it as
 * docker's data root, with the snapshot's changes on the store device when one is mounted, else in a tmpfs. On an
 * installed system the installer put the store on the disk (INSTALLED_STORE_DIR): that copy is used instead, podman's
 * read-only as on the medium, docker's ext4 image mounted read-write (it is the disk's own from then on).
 */
export function readyStoreFiles(engine: Engine, tmpfsSize: string, storeImage: string = READY_STORE_IMAGE): RootFile[] {
  const docker = engine === 'docker';
  const setup = `/${LIB_DIR}/ready-store-setup`;
  const installed = installedStoreFile(engine);
  const files: RootFile[] = [
    {
      path: `${UNIT_DIR}/remaster-ready-store.service`,
      mode: 0o644,
      content: render(
        readTemplate('remaster-ready-store.service'),
        {
          ENGINE: engine,
          STORE_IMAGE: storeImage,
          INSTALLED_IMAGE: installed,
          // Docker's store goes on the store device when there is one: the storage unit mounts that first.
          AFTER: docker ? 'local-fs.target remaster-storage.service' : 'local-fs.target',
          // docker's store is dockerd's alone: containerd (its own /var/lib/containerd) starts meanwhile.
          BEFORE: docker ? 'docker.service' : engineFacts[engine].before,
          STORE_DIR: READY_STORE_DIR,
          EXEC: setup,
          // Once the engine has stopped, so shutdown finds nothing of the store busy.
          STOP: docker ? `ExecStop=${setup} stop` : `ExecStop=/usr/bin/umount ${READY_STORE_DIR}`,
        },
        'remaster-ready-store.service',
      ),
    },
    {
      path: 'etc/systemd/system/multi-user.target.wants/remaster-ready-store.service',
      mode: 0o777,
      symlink: `/${UNIT_DIR}/remaster-ready-store.service`,
    },
  ];
  if (!docker) {
    files.push({
      path: setup.slice(1),
      mode: 0o755,
      content: render(
        readTemplate('podman-ready-store.sh'),
        { STORE_IMAGE: storeImage, INSTALLED_IMAGE: installed, STORE_DIR: READY_STORE_DIR },
        'podman-ready-store.sh',
      ),
    });
  } else {
    files.push({
      path: setup.slice(1),
      mode: 0o755,
      content: render(
        readTemplate('docker-ready-store.sh'),
        {
          STORE_IMAGE: storeImage,
          STORE_DIR: READY_STORE_DIR,
          STORE_FILE: DOCKER_STORE_FILE,
          INSTALLED_IMAGE: installed,
          DATA_ROOT: DOCKER_DATA_ROOT,
          PERSIST_DIR,
          TMPFS_SIZE: tmpfsSize,
        },
        'docker-ready-store.sh',
      ),
    });
  }
  return files;
}
