// The argv of a `remaster build` that integration tests repeat: a base, an output, an engine, one image, no boot.
export interface BuildArgs {
  iso: string;
  out: string;
  engine?: 'docker' | 'podman';
  /** --image values; default none. */
  images?: readonly string[];
  /** --verify; default none (integration tests never boot). */
  verify?: string;
  /** More flags, after the ones above. */
  more?: readonly string[];
}

/** ['build', '--iso', iso, '--out', out, '--engine', engine, '--image', ..., '--verify', verify, ...more] */
export function buildArgs(o: BuildArgs): string[] {
  return [
    'build',
    ...['--iso', o.iso],
    ...['--out', o.out],
    ...['--engine', o.engine ?? 'docker'],
    ...(o.images ?? []).flatMap((i) => ['--image', i]),
    ...['--verify', o.verify ?? 'none'],
    ...(o.more ?? []),
  ];
}
