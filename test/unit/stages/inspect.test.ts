// The inspect stage settles the target: the one asked for when the base allows it, else a usage error; by default
// both where an installer route exists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../../src/errors.js';
import { resolveTarget } from '../../../src/stages/inspect.js';

const yes = { reachable: true, why: 'd-i-live-installer' };
const no = { reachable: false, why: 'the base carries no installer' };
const base = (installed: typeof yes) => ({ iso: '/b.iso', targets: { live: { reachable: true, why: 'live root' }, installed } });

test('default: both with an installer route, live without; live with a payload only live boots use', () => {
  assert.equal(resolveTarget(base(yes), undefined, false), 'both');
  assert.equal(resolveTarget(base(no), undefined, false), 'live');
  assert.equal(resolveTarget(base(yes), undefined, true), 'live');
});

test('asked for: given when reachable, refused with one line naming why when not', () => {
  assert.equal(resolveTarget(base(yes), 'installed', false), 'installed');
  assert.equal(resolveTarget(base(no), 'live', false), 'live');
  assert.throws(
    () => resolveTarget(base(no), 'both', false),
    (e: unknown) =>
      e instanceof UsageError &&
      e.exitCode === 2 &&
      e.message === 'target both: remaster cannot reach systems installed from /b.iso: the base carries no installer' &&
      /--target live/.test(e.hint ?? ''),
  );
});
