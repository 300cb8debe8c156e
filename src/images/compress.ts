import type { Compression } from '../types.js';
// Compression of image archives for the payload; the guest decompresses with the matching tool.

export interface CompressionSettings {
  kind: Compression;
  level?: number | undefined;
  /** zstd long-distance matching window (log2 bytes); 27 = 128 MiB, which zstd decompresses without extra flags. */
  longWindowLog?: number | undefined;
  threads?: number | undefined;
}

/** The archive compression a build asked for (its compression and compressionLevel settings). */
export function compressionSettings(c: { compression: Compression; compressionLevel?: number | undefined }): CompressionSettings {
  return { kind: c.compression, level: c.compressionLevel };
}

export const compressionExtension: Record<Compression, string> = {
  zstd: '.tar.zst',
  gzip: '.tar.gz',
  xz: '.tar.xz',
  none: '.tar',
};

/** argv of the compressor reading a tar on stdin and writing to stdout; undefined for none. */
export function compressorArgv(c: CompressionSettings): [string, string[]] | undefined {
  switch (c.kind) {
    case 'zstd':
      return [
        'zstd',
        [
          '-q',
          '-c',
          `-${c.level ?? 12}`,
          ...(c.level !== undefined && c.level > 19 ? ['--ultra'] : []),
          `-T${c.threads ?? 0}`,
          ...(c.longWindowLog === 0 ? [] : [`--long=${c.longWindowLog ?? 27}`]),
        ],
      ];
    case 'gzip':
      return ['gzip', ['-c', '-n', `-${c.level ?? 6}`]];
    case 'xz':
      return ['xz', ['-c', `-${c.level ?? 6}`, `-T${c.threads ?? 0}`]];
    case 'none':
      return undefined;
  }
}

/** The guest-side command (inside the loader) that writes the tar to stdout. */
export function decompressorCommand(kind: Compression): string {
  switch (kind) {
    case 'zstd':
      return 'zstd -dcq --long=31';
    case 'gzip':
      return 'gzip -dc';
    case 'xz':
      return 'xz -dc';
    case 'none':
      return 'cat';
  }
}

/** Debian package that provides the decompressor in the target root. */
export const decompressorPackage: Record<Compression, string | undefined> = {
  zstd: 'zstd',
  gzip: 'gzip',
  xz: 'xz-utils',
  none: undefined,
};
