// The loader script, run for real by bash against a fake engine on PATH (a file-backed image store).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loaderFiles } from '../../../src/units/render.js';

// A fake `docker`: `load` reads a "tar" whose content is lines "ref id"; `image inspect` answers from the store.
const FAKE_ENGINE = `#!/bin/bash
store="$FAKE_STORE"
case "$1 $2" in
"image inspect")
	ref="\${@: -1}"
	line=$(grep -F -- "$ref " "$store" 2>/dev/null | tail -n 1) || exit 1
	[ -n "$line" ] || { echo "Error: No such image: $ref" >&2; exit 1; }
	echo "sha256:\${line##* }"
	;;
"load ")
	data=$(cat)
	cat "$REMASTER_STATE_DIR/loading" >>"$FAKE_STORE.inflight" 2>/dev/null
	[ -n "$data" ] || { echo "no data" >&2; exit 1; }
	printf '%s\\n' "$data" >>"$store"
	echo "Loaded image: \${data%% *}"
	;;
*) echo "fake engine: unexpected $*" >&2; exit 2 ;;
esac
`;

interface Img {
  ref: string;
  id: string;
  body?: string;
  /** Uncompressed size recorded in the manifest. */
  size?: number;
}

function setup(images: Img[], opts: { corrupt?: string; missing?: string; freeBytes?: number; deleteAfterLoad?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'remaster-loader-'));
  const bin = join(dir, 'bin');
  const payload = join(dir, 'payload');
  mkdirSync(bin);
  mkdirSync(join(payload, 'images'), { recursive: true });
  writeFileSync(join(bin, 'docker'), FAKE_ENGINE, { mode: 0o755 });
  if (opts.freeBytes !== undefined) writeFileSync(join(bin, 'df'), `#!/bin/sh\necho Avail\necho ${opts.freeBytes}\n`, { mode: 0o755 });
  const files = loaderFiles({
    engine: 'docker',
    compression: 'none',
    deleteAfterLoad: opts.deleteAfterLoad ?? false,
    tmpfsSize: '75%',
    reportPort: 'org.remaster.report',
  });
  const loader = files.find((f) => f.path.endsWith('load-images'));
  assert.ok(loader?.content);
  writeFileSync(join(dir, 'load-images'), loader.content);
  chmodSync(join(dir, 'load-images'), 0o755);
  const tsv: string[] = [];
  for (const img of images) {
    const file = `${img.ref.replace(/[^a-z0-9]/g, '_')}.tar`;
    const body = img.body ?? `${img.ref} ${img.id}`;
    const sha = createHash('sha256').update(body).digest('hex');
    if (opts.missing !== img.ref) writeFileSync(join(payload, 'images', file), opts.corrupt === img.ref ? `${body}garbage` : body);
    tsv.push([file, sha, `sha256:${img.id}`, img.ref, String(img.size ?? body.length)].join('\t'));
  }
  writeFileSync(join(payload, 'images.tsv'), `${tsv.join('\n')}\n`);
  const store = join(dir, 'store');
  writeFileSync(store, '');
  const state = join(dir, 'state');
  const run = () =>
    spawnSync('bash', [join(dir, 'load-images')], {
      env: {
        PATH: `${bin}:/usr/bin:/bin`,
        FAKE_STORE: store,
        REMASTER_PAYLOAD_DIR: payload,
        REMASTER_STORE_DIR: dir,
        REMASTER_STATE_DIR: state,
      },
      encoding: 'utf8',
    });
  return { dir, payload, store, state, run };
}

const A = { ref: 'acme/a:1', id: 'a'.repeat(64) };
const B = { ref: 'acme/b:2', id: 'b'.repeat(64) };

test('loader loads every archive and writes a marker per verified load', () => {
  const s = setup([A, B]);
  const r = s.run();
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /loaded: acme\/a:1/);
  assert.match(r.stdout, /summary: 2 images, 2 loaded, 0 already present, 0 failed/);
  assert.ok(existsSync(join(s.state, 'loaded', A.id)));
  // Each image was named in the state folder while it loaded, and nothing is named there afterwards.
  assert.equal(readFileSync(`${s.store}.inflight`, 'utf8'), `${A.ref}\n${B.ref}\n`);
  assert.ok(!existsSync(join(s.state, 'loading')));
});

test('a boot that ended during a load is reported by the next run, which loads that image again', () => {
  const s = setup([A, B]);
  mkdirSync(s.state, { recursive: true });
  writeFileSync(join(s.state, 'loading'), `${B.ref}\n`);
  // The earlier boot had loaded A before it was cut.
  writeFileSync(s.store, `${A.ref} ${A.id}\n`);
  const r = s.run();
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^<4>INTERRUPTED acme\/b:2: an earlier boot ended \(power cut or reset\) while loading it/m);
  assert.match(r.stdout, /present: acme\/a:1/);
  assert.match(r.stdout, /loaded: acme\/b:2/);
  assert.match(r.stdout, /summary: 2 images, 1 loaded, 1 already present, 0 failed/);
  assert.ok(!existsSync(join(s.state, 'loading')));
});

test('a failed load does not leave the image named as loading', () => {
  const s = setup([{ ...A, body: '' }]);
  const r = s.run();
  assert.equal(r.status, 1);
  assert.match(r.stdout, /FAILED acme\/a:1: docker load failed/);
  assert.ok(!existsSync(join(s.state, 'loading')));
});

test('loader is idempotent: a second run skips images already present with the same ID', () => {
  const s = setup([A]);
  assert.equal(s.run().status, 0);
  const r = s.run();
  assert.equal(r.status, 0);
  assert.match(r.stdout, /present: acme\/a:1/);
  assert.equal(readFileSync(s.store, 'utf8').trim().split('\n').length, 1, 'loaded only once');
});

test('a corrupt archive is not loaded, is reported, and the others still load; exit 1', () => {
  const s = setup([A, B], { corrupt: A.ref });
  const r = s.run();
  assert.equal(r.status, 1);
  assert.match(r.stdout, /FAILED acme\/a:1: .* does not match its sha256/);
  assert.match(r.stdout, /loaded: acme\/b:2/);
  assert.doesNotMatch(readFileSync(s.store, 'utf8'), /acme\/a:1/);
});

test('a missing archive is reported and fails the run', () => {
  const s = setup([A, B], { missing: B.ref });
  const r = s.run();
  assert.equal(r.status, 1);
  assert.match(r.stdout, /FAILED acme\/b:2: archive .* is missing/);
  assert.match(r.stdout, /1 loaded, 0 already present, 1 failed/);
});

test('an image that loads under another ID counts as failed', () => {
  const s = setup([{ ...A, body: `${A.ref} ${'c'.repeat(64)}` }]);
  const r = s.run();
  assert.equal(r.status, 1);
  assert.match(r.stdout, /does not show acme\/a:1 with ID aaaaaaaaaaaa/);
});

test('an image larger than the free space in the store is refused with a clear line; smaller ones load', () => {
  const s = setup(
    [
      { ...A, size: 5000 },
      { ...B, size: 10 },
    ],
    { freeBytes: 1000 },
  );
  const r = s.run();
  assert.equal(r.status, 1);
  assert.match(r.stdout, /FAILED acme\/a:1: needs about 5000 bytes in .* to load, only 1000 free/);
  assert.match(r.stdout, /loaded: acme\/b:2/);
});

test('archives are kept after loading by default, deleted after a verified load with --delete-after-load', () => {
  const keep = setup([A]);
  assert.equal(keep.run().status, 0);
  assert.equal(readdirSync(join(keep.payload, 'images')).length, 1);
  const del = setup([A, B], { deleteAfterLoad: true, corrupt: B.ref });
  assert.equal(del.run().status, 1);
  assert.deepEqual(readdirSync(join(del.payload, 'images')), ['acme_b_2.tar'], 'only the verified load is deleted');
});
