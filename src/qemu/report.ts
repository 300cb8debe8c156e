// The guest report: parse the lines the guest writes to the virtio port, and compare its images with what we expected.

/** One `image <ref> <id>` line: ref as the engine lists it, id normalised to `sha256:<hex>`. */
export interface GuestImage {
  ref: string;
  id: string;
}

export interface GuestReport {
  /** The number after `remaster-report` (1 today). */
  version: number;
  engine?: 'docker' | 'podman';
  engineVersion?: string;
  /** systemd's Result= for the loader unit: `success`, `exit-code`, `timeout`... */
  loaderResult?: string;
  loaderExit?: number;
  images: GuestImage[];
  failedUnits: string[];
  journal: string[];
  /** Lines of unknown kind (or malformed known kinds), kept verbatim and otherwise ignored. */
  extra: string[];
  /** True once the `end` line was seen; false means the report was cut short. */
  complete: boolean;
}

const HEADER = /^remaster-report\s+(\d+)$/;

/**
 * Parse the report text written by the guest. Returns undefined when there is no `remaster-report` header.
 * If the guest wrote the report more than once (a restarted unit), the last header wins.
 */
export function parseGuestReport(text: string): GuestReport | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.replace(/\s+$/, ''));
  let start = -1;
  let version = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = HEADER.exec((lines[i] ?? '').trim());
    if (m) {
      start = i;
      version = Number(m[1]);
      break;
    }
  }
  if (start < 0) return undefined;

  const report: GuestReport = {
    version,
    images: [],
    failedUnits: [],
    journal: [],
    extra: [],
    complete: false,
  };
  for (const raw of lines.slice(start + 1)) {
    const line = raw.replace(/^\s+/, '');
    if (line === '') continue;
    if (line === 'end') {
      report.complete = true;
      break;
    }
    const sp = line.indexOf(' ');
    const kind = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    switch (kind) {
      case 'engine':
        if (rest === 'docker' || rest === 'podman') report.engine = rest;
        else report.extra.push(line);
        break;
      case 'engine-version':
        report.engineVersion = rest.trim();
        break;
      case 'loader-result':
        report.loaderResult = rest.trim();
        break;
      case 'loader-exit': {
        const n = rest.trim();
        if (/^-?\d+$/.test(n)) report.loaderExit = Number(n);
        else report.extra.push(line);
        break;
      }
      case 'image': {
        const parts = rest.trim().split(/\s+/);
        const [ref, id] = parts;
        if (parts.length === 2 && ref && id) report.images.push({ ref, id: normaliseImageId(id) });
        else report.extra.push(line);
        break;
      }
      case 'failed-unit':
        if (rest.trim()) report.failedUnits.push(rest.trim());
        break;
      case 'journal':
        report.journal.push(rest);
        break;
      default:
        report.extra.push(line);
    }
  }
  return report;
}

/** `sha256:<hex>` for a bare hex id (podman prints those); other forms are lower-cased and kept. */
export function normaliseImageId(id: string): string {
  const t = id.trim().toLowerCase();
  if (/^[0-9a-f]+$/.test(t)) return `sha256:${t}`;
  return t;
}

/**
 * A reference as both engines would agree on it: no `docker.io/library/`, `docker.io/` or `localhost/` prefix,
 * and an explicit `:latest` when there is neither tag nor digest.
 */
export function normaliseRef(ref: string): string {
  let r = ref.trim();
  for (const prefix of ['docker.io/library/', 'index.docker.io/library/', 'docker.io/', 'index.docker.io/', 'localhost/']) {
    if (r.startsWith(prefix)) {
      r = r.slice(prefix.length);
      break;
    }
  }
  if (r.startsWith('library/') && r.split('/').length === 2) r = r.slice('library/'.length);
  const lastComponent = r.slice(r.lastIndexOf('/') + 1);
  if (!r.includes('@') && !lastComponent.includes(':')) r = `${r}:latest`;
  return r;
}

export interface ExpectedImage {
  ref: string;
  id?: string;
}

export interface ImageComparison {
  /** Expected refs the guest does not list. */
  missing: string[];
  /** Expected refs listed with another id. */
  wrongId: { ref: string; expected: string; actual: string }[];
  ok: boolean;
}

/** Ids match when equal, or when one is an unambiguous (>= 12 hex digit) prefix of the other (short ids). */
function sameId(a: string, b: string): boolean {
  const x = normaliseImageId(a).replace(/^sha256:/, '');
  const y = normaliseImageId(b).replace(/^sha256:/, '');
  if (x === y) return true;
  const [short, long] = x.length <= y.length ? [x, y] : [y, x];
  return short.length >= 12 && /^[0-9a-f]+$/.test(short) && long.startsWith(short);
}

/** Check that every expected image is in the report, with the expected id when one is given. */
export function compareImages(report: GuestReport, expected: readonly ExpectedImage[]): ImageComparison {
  const byRef = new Map<string, string[]>();
  for (const img of report.images) {
    const key = normaliseRef(img.ref);
    byRef.set(key, [...(byRef.get(key) ?? []), img.id]);
  }
  const missing: string[] = [];
  const wrongId: ImageComparison['wrongId'] = [];
  for (const want of expected) {
    const ids = byRef.get(normaliseRef(want.ref));
    if (!ids) {
      missing.push(want.ref);
      continue;
    }
    if (want.id === undefined) continue;
    const wantId = want.id;
    if (!ids.some((id) => sameId(id, wantId))) {
      wrongId.push({ ref: want.ref, expected: normaliseImageId(wantId), actual: ids.join(' ') });
    }
  }
  return { missing, wrongId, ok: missing.length === 0 && wrongId.length === 0 };
}
