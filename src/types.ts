// The shared vocabulary: names every room of the house uses. It imports nothing of ours (a lint rule keeps it so),
// so config, the domain folders and the pipeline can all depend on it without depending on each other.

/** The container engine the ISO gets. */
export type Engine = 'docker' | 'podman';

/** Compression of the image archives (the guest decompresses with the matching tool). */
export type Compression = 'zstd' | 'gzip' | 'xz' | 'none';

/** Firmware a verification boot runs under: SeaBIOS, OVMF, or OVMF with Secure Boot enforced (Microsoft's keys). */
export type Firmware = 'bios' | 'uefi' | 'uefi-sb';

/** How the verification VM sees the ISO: an optical drive, or the hybrid image as a USB stick. */
export type Media = 'cdrom' | 'usb';

/** QEMU accelerator preference (auto: KVM when it works, else TCG). */
export type Accel = 'auto' | 'kvm' | 'tcg';

/** How the new root is written: a layer on the base's squashfs stack, or the whole root rebuilt. */
export type RootfsMode = 'layer' | 'rebuild' | 'auto';

/** What gets the payload: the live session, the systems installed from the ISO, or both. */
export type Target = 'live' | 'installed' | 'both';

/** podman only: load archives at boot, or ship a ready (read-only) image store on the medium. */
export type ImageStore = 'load' | 'ready';

/** Registry credentials: an auth file, or a user and password (only ever from the environment). */
export interface RegistryAuth {
  /** An existing auth file (containers-auth.json / docker config.json format). */
  file?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

export type RestartPolicy = 'no' | 'always' | 'on-failure';

/** How an image is started at boot (a systemd unit, or a quadlet on podman >= 4.4). */
export interface RunSettings {
  /** Container and unit name: remaster-app-<name>.service */
  name: string;
  command?: string[] | undefined;
  /** "8080:80", "127.0.0.1:8080:80/tcp" */
  ports?: string[] | undefined;
  /** KEY=VALUE */
  env?: string[] | undefined;
  /** "/srv/data:/data[:ro]" */
  volumes?: string[] | undefined;
  restart?: RestartPolicy | undefined;
  /** "host" shares the host's network (no port mapping needed). */
  network?: 'host' | 'bridge' | undefined;
  /** A TCP port inside the guest the verification report probes with an HTTP GET. */
  checkPort?: number | undefined;
}

export type SkopeoTransport = 'docker' | 'oci-archive' | 'oci' | 'docker-daemon';

/** Where an image comes from. */
export type ImageSource =
  | { kind: 'docker-archive'; path: string; ref?: string | undefined }
  | {
      kind: 'skopeo';
      transport: SkopeoTransport;
      /** The skopeo source as given, e.g. docker://reg:5000/app:1 or oci-archive:/x.tar */
      source: string;
      ref?: string | undefined;
      tlsVerify?: boolean | undefined;
    }
  | {
      kind: 'rootfs';
      path: string;
      ref: string;
      cmd?: string[] | undefined;
      entrypoint?: string[] | undefined;
      env?: string[] | undefined;
    };

/** One image to preload: its source, and how to run it at boot if at all. */
export type ImageSpec = ImageSource & { run?: RunSettings | undefined };

/** A file (or symlink) rendered for the new root: where it goes, its mode, its text. */
export interface RootFile {
  /** Path relative to the root filesystem. */
  path: string;
  mode: number;
  content?: string;
  /** Make a symlink to this target instead of a file. */
  symlink?: string;
}
