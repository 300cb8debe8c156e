// The throttle that turns tools' percentages into a few progress lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Throttle } from '../../../src/util/progress.js';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('Throttle: a whole percent after 250 ms, or any change after 2 s; 100 always', () => {
  const out: string[] = [];
  const c = clock();
  const t = new Throttle((l) => out.push(l), { now: c.now });
  assert.equal(t.report(0, 'a 0'), true, 'the first report shows');
  c.advance(100);
  assert.equal(t.report(5, 'a 5'), false, 'too soon after the last line');
  c.advance(200);
  assert.equal(t.report(5.5, 'a 5.5'), true, 'moved >= 1 % and 300 ms passed');
  c.advance(1000);
  assert.equal(t.report(6.0, 'a 6.0'), false, 'less than 1 % and less than 2 s');
  c.advance(1000);
  assert.equal(t.report(6.1, 'a 6.1'), true, '2 s passed and the line changed');
  c.advance(5000);
  assert.equal(t.report(6.1, 'a 6.1'), false, 'nothing changed: nothing to say');
  assert.equal(t.report(100, 'a 100'), true, 'completion always shows');
  assert.equal(t.report(100, 'a 100'), false, 'once');
  assert.deepEqual(out, ['a 0', 'a 5.5', 'a 6.1', 'a 100']);
});

test('a bar per redraw over 10 s of real time gives at most one line per percent', () => {
  const out: string[] = [];
  const c = clock();
  const t = new Throttle((l) => out.push(l), { now: c.now });
  // 4 redraws a second (mksquashfs), 0.1 % per redraw.
  for (let i = 0; i <= 400; i++) {
    t.report(i / 4, `p ${Math.floor(i / 4)}`);
    c.advance(250);
  }
  assert.ok(out.length <= 101, `${out.length} lines`);
  const pcts = out.map((l) => Number(l.split(' ')[1]));
  assert.deepEqual(
    pcts,
    [...pcts].sort((a, b) => a - b),
    'increasing',
  );
  assert.equal(pcts.at(-1), 100);
});
