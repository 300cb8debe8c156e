// Image references (name:tag): validation against the distribution grammar, normalisation, safe file names.
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';

// distribution/reference: [host[:port]/]component(/component)*[:tag]
const HOST = String.raw`(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)`;
const COMPONENT = '(?:[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)';
const TAG = '[\\w][\\w.-]{0,127}';
const REFERENCE = new RegExp(`^(?:(${HOST})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::(${TAG}))?$`);

export interface ImageRef {
  /** As written, with ":latest" added when no tag was given. */
  full: string;
  name: string;
  tag: string;
}

export function parseRef(text: string, where = 'image reference'): ImageRef {
  const m = REFERENCE.exec(text);
  if (!m || text.length > 255) {
    throw new UsageError(`${where} ${JSON.stringify(text)} is not a valid image name (expected name[:tag], lowercase, e.g. acme/app:1.2)`, {
      hint: 'use lowercase letters, digits, ".", "_", "-" and "/" in the name, and letters, digits, ".", "_", "-" in the tag',
    });
  }
  const name = m[1] ? `${m[1]}/${m[2]}` : (m[2] ?? '');
  const tag = m[3] ?? 'latest';
  return { full: `${name}:${tag}`, name, tag };
}

/** Compare refs as docker and podman print them: docker.io/library/x, docker.io/x and localhost/x all mean x. */
export function normaliseRef(ref: string): string {
  let r = ref;
  if (!/:[\w][\w.-]*$/.test(r.split('/').pop() ?? '')) r = `${r}:latest`;
  for (const prefix of ['docker.io/library/', 'docker.io/', 'localhost/']) {
    if (r.startsWith(prefix)) {
      r = r.slice(prefix.length);
      break;
    }
  }
  return r;
}

/** A file name for an image archive: readable, unique, no shell or path specials. */
export function archiveBaseName(ref: string): string {
  const readable = ref.replace(/[^a-zA-Z0-9._-]+/g, '_').slice(0, 80);
  const h = createHash('sha256').update(ref).digest('hex').slice(0, 8);
  return `${readable}-${h}`;
}
