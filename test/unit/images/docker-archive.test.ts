import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import tar from 'tar-stream';
import { UsageError } from '../../../src/errors.js';
import {
  imageConfig,
  readDockerArchive,
  retagDockerArchive,
  scanRootfsTar,
  unsafeEntryName,
  writeRootfsImage,
} from '../../../src/images/docker-archive.js';

const dir = mkdtempSync(join(tmpdir(), 'remaster-da-'));

async function makeTar(
  path: string,
  entries: { name: string; body?: string; type?: 'file' | 'directory' | 'symlink'; linkname?: string }[],
) {
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(path));
  for (const e of entries) {
    await new Promise<void>((res, rej) =>
      pack.entry(
        { name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}), mtime: new Date(0) },
        e.body ?? '',
        (err) => (err ? rej(err) : res()),
      ),
    );
  }
  pack.finalize();
  await done;
}

test('a rootfs tar becomes a docker-archive whose ID is the sha256 of its config', async () => {
  const rootfs = join(dir, 'root.tar');
  await makeTar(rootfs, [
    { name: 'bin/', type: 'directory' },
    { name: 'bin/hello', body: 'hi\n' },
  ]);
  const facts = await scanRootfsTar(rootfs);
  const raw = await readFile(rootfs);
  assert.equal(facts.diffId, `sha256:${createHash('sha256').update(raw).digest('hex')}`);
  assert.equal(facts.bytes, raw.length);
  const out = join(dir, 'img.tar');
  const { imageId } = await writeRootfsImage(
    { rootfsTar: rootfs, ref: 'acme/hello:1', architecture: 'amd64', created: 0, cmd: ['/bin/hello'] },
    facts,
    createWriteStream(out),
  );
  const info = await readDockerArchive(out);
  assert.deepEqual(info.refs, ['acme/hello:1']);
  assert.equal(info.imageId, imageId);
  assert.equal(info.layers, 1);
  assert.equal(info.architecture, 'amd64');
});

test('the same inputs give the same archive bytes (deterministic)', async () => {
  const rootfs = join(dir, 'root2.tar');
  await makeTar(rootfs, [{ name: 'a', body: 'x' }]);
  const facts = await scanRootfsTar(rootfs);
  const digests: string[] = [];
  for (const n of [1, 2]) {
    const out = join(dir, `det${n}.tar`);
    await writeRootfsImage({ rootfsTar: rootfs, ref: 'a/b:c', architecture: 'amd64', created: 42 }, facts, createWriteStream(out));
    digests.push(
      createHash('sha256')
        .update(await readFile(out))
        .digest('hex'),
    );
  }
  assert.equal(digests[0], digests[1]);
});

test('image config carries the diff id, architecture and command', () => {
  const c = JSON.parse(imageConfig({ rootfsTar: '', ref: 'a:b', architecture: 'arm64', created: 0, cmd: ['sh'] }, 'sha256:abc').toString());
  assert.deepEqual(c.rootfs, { type: 'layers', diff_ids: ['sha256:abc'] });
  assert.equal(c.architecture, 'arm64');
  assert.deepEqual(c.config.Cmd, ['sh']);
  assert.equal(c.created, '1970-01-01T00:00:00.000Z');
});

test('rootfs tar entries with .. or absolute paths are refused', async () => {
  for (const [name, entry] of [
    ['dotdot.tar', { name: '../etc/passwd', body: 'x' }],
    ['abs.tar', { name: '/etc/passwd', body: 'x' }],
  ] as const) {
    const p = join(dir, name);
    await makeTar(p, [entry]);
    await assert.rejects(scanRootfsTar(p), (e: unknown) => e instanceof UsageError && /outside the image root/.test(e.message));
  }
  assert.equal(unsafeEntryName('a/../../b'), true);
  assert.equal(unsafeEntryName('a/b..c'), false);
});

test('a tar without manifest.json is not a docker-archive, and the message says how to pass a rootfs', async () => {
  const p = join(dir, 'plain.tar');
  await makeTar(p, [{ name: 'x', body: 'y' }]);
  await assert.rejects(
    readDockerArchive(p),
    (e: unknown) => e instanceof UsageError && /no manifest.json/.test(e.message) && /rootfs:/.test(e.hint ?? ''),
  );
});

test('a file that is not a tar is refused', async () => {
  const p = join(dir, 'junk.tar');
  writeFileSync(p, 'this is not a tar archive at all'.repeat(40));
  await assert.rejects(readDockerArchive(p), UsageError);
});

test('retagging rewrites RepoTags and keeps the image ID', async () => {
  const rootfs = join(dir, 'root3.tar');
  await makeTar(rootfs, [{ name: 'f', body: '1' }]);
  const src = join(dir, 'src.tar');
  const { imageId } = await writeRootfsImage(
    { rootfsTar: rootfs, ref: 'old/name:1', architecture: 'amd64', created: 0 },
    await scanRootfsTar(rootfs),
    createWriteStream(src),
  );
  const out = join(dir, 'retag.tar');
  await retagDockerArchive(src, ['new/name:2'], createWriteStream(out));
  const info = await readDockerArchive(out);
  assert.deepEqual(info.refs, ['new/name:2']);
  assert.equal(info.imageId, imageId);
});
