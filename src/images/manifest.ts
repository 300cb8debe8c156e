// The payload manifest: one entry per image archive with its digest, size and the ID the engine will show.
import type { Compression } from '../types.js';

export interface ImageSourceRecord {
  kind: 'docker-archive' | 'rootfs' | 'docker' | 'oci-archive' | 'oci' | 'docker-daemon';
  /** Host path or skopeo reference as given (never credentials). */
  path: string;
  /** sha256 of the source file, or the registry's manifest digest. */
  digest: string;
}

export interface PayloadImage {
  /** name:tag the engine will list. */
  refs: string[];
  /** Archive file name inside the payload directory. */
  file: string;
  /** sha256 hex of the compressed archive. */
  sha256: string;
  bytes: number;
  uncompressedBytes: number;
  /** sha256:<hex> of the image config: the ID docker and podman show. */
  imageId: string;
  source: ImageSourceRecord;
}

export interface PayloadApp {
  name: string;
  unit: string;
  ref: string;
  checkPort?: number | undefined;
}

export interface PayloadManifest {
  version: 1;
  compression: Compression;
  images: PayloadImage[];
  /** Containers started at boot by run units, in image order. */
  apps: PayloadApp[];
}

/** The loader reads this tab-separated form: file, sha256, image id, refs (comma-separated), uncompressed bytes. */
export function manifestTsv(m: PayloadManifest): string {
  return `${m.images.map((i) => [i.file, i.sha256, i.imageId, i.refs.join(','), String(i.uncompressedBytes)].join('\t')).join('\n')}\n`;
}

export function manifestJson(m: PayloadManifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}
