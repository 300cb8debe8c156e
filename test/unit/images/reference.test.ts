import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../../src/errors.js';
import { archiveBaseName, normaliseRef, parseRef } from '../../../src/images/reference.js';

test('parseRef accepts registry, port, path and tag; adds :latest', () => {
  assert.equal(parseRef('busybox').full, 'busybox:latest');
  assert.equal(parseRef('registry.local:5000/team/app:1.2-rc1').full, 'registry.local:5000/team/app:1.2-rc1');
  assert.deepEqual(parseRef('a/b_c:v1'), { full: 'a/b_c:v1', name: 'a/b_c', tag: 'v1' });
});

test('parseRef refuses shell metacharacters, newlines, uppercase and empty parts', () => {
  for (const bad of ['app;rm -rf /', 'app:$(id)', 'app\nname', 'App:1', 'a//b', 'app:', ':tag', 'app:1 2', 'app`x`']) {
    assert.throws(() => parseRef(bad), UsageError, bad);
  }
});

test('normaliseRef: docker.io/library and localhost prefixes do not matter', () => {
  assert.equal(normaliseRef('docker.io/library/busybox'), 'busybox:latest');
  assert.equal(normaliseRef('localhost/demo/busybox:1.0'), 'demo/busybox:1.0');
  assert.equal(normaliseRef('demo/busybox:1.0'), 'demo/busybox:1.0');
});

test('archiveBaseName is readable, safe and unique per ref', () => {
  const a = archiveBaseName('registry:5000/team/app:1');
  assert.match(a, /^[A-Za-z0-9._-]+$/);
  assert.notEqual(archiveBaseName('a/b:c'), archiveBaseName('a_b:c'));
});
