import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OVERLAY_BOOKKEEPING, getfattrArgs, parseGetfattr } from '../../../src/rootfs/xattrs.js';

test('parseGetfattr groups files by overlay bookkeeping attribute; opaque markers are never selected', () => {
  const text =
    '# file: /w/upper/etc\ntrusted.overlay.impure\ntrusted.overlay.origin\n\n# file: /w/upper/a\\040b\ntrusted.overlay.origin\n\n# file: /w/upper\ntrusted.overlay.uuid\n';
  const m = parseGetfattr(text);
  assert.deepEqual(m.get('trusted.overlay.origin'), ['/w/upper/etc', '/w/upper/a b']);
  assert.deepEqual(m.get('trusted.overlay.impure'), ['/w/upper/etc']);
  assert.deepEqual(m.get('trusted.overlay.uuid'), ['/w/upper']);
  assert.equal(OVERLAY_BOOKKEEPING.test('trusted.overlay.opaque'), false);
  assert.equal(OVERLAY_BOOKKEEPING.test('trusted.overlay.redirect'), false);
  assert.deepEqual(getfattrArgs('/w/upper').slice(0, 3), ['-R', '-P', '--absolute-names']);
});
