import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { QmpClient, QmpError, type QmpEvent, splitQmpMessages } from '../../../src/qemu/qmp.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'remaster-qmp-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const GREETING = {
  QMP: { version: { qemu: { micro: 0, minor: 2, major: 7 }, package: 'Debian' }, capabilities: ['oob'] },
};

/** A fake QEMU: greets, accepts qmp_capabilities, then answers through `handle`. */
function fakeQemu(path: string, handle: (msg: Record<string, unknown>, sock: Socket) => void): Promise<Server> {
  const server = createServer((sock) => {
    sock.write(`${JSON.stringify(GREETING)}\r\n`);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      let i = buf.indexOf('\n');
      while (i >= 0) {
        const msg = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
        buf = buf.slice(i + 1);
        if (msg.execute === 'qmp_capabilities') sock.write(`${JSON.stringify({ return: {}, id: msg.id })}\r\n`);
        else handle(msg, sock);
        i = buf.indexOf('\n');
      }
    });
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

test('splitQmpMessages keeps the unfinished tail and skips junk', () => {
  assert.deepEqual(splitQmpMessages('{"a":1}\r\nnot json\n{"b":'), { messages: [{ a: 1 }], rest: '{"b":' });
});

test('connect retries until the socket exists, then runs commands with id matching', async () => {
  const path = join(dir, 'late.sock');
  const events: QmpEvent[] = [];
  const pending: { id: unknown; sock: Socket }[] = [];
  const connecting = QmpClient.connect({ socketPath: path, timeoutMs: 5000, onEvent: (e) => events.push(e) });
  await sleep(300); // QEMU has not created the socket yet
  const server = await fakeQemu(path, (msg, sock) => {
    if (msg.execute === 'query-status') {
      pending.push({ id: msg.id, sock });
      if (pending.length === 2) {
        // answer out of order, with an event in between
        const [first, second] = pending;
        sock.write(`${JSON.stringify({ return: { status: 'paused', running: false }, id: second?.id })}\r\n`);
        sock.write(`${JSON.stringify({ event: 'STOP', timestamp: { seconds: 1, microseconds: 2 } })}\r\n`);
        sock.write(`${JSON.stringify({ return: { status: 'running', running: true }, id: first?.id })}\r\n`);
      }
    } else if (msg.execute === 'screendump') {
      const args = msg.arguments as { filename: string; format: string };
      if (args.format !== 'png') throw new Error('expected png');
      sock.write(`${JSON.stringify({ error: { class: 'GenericError', desc: `no surface for ${args.filename}` }, id: msg.id })}\r\n`);
    } else if (msg.execute === 'send-key') {
      sock.write(`${JSON.stringify({ return: {}, id: msg.id })}\r\n`);
      assert.deepEqual(msg.arguments, { keys: [{ type: 'qcode', data: 'ret' }] });
    } else if (msg.execute === 'quit') {
      sock.write(`${JSON.stringify({ return: {}, id: msg.id })}\r\n`);
      sock.write(`${JSON.stringify({ event: 'SHUTDOWN', data: { guest: false, reason: 'host-qmp-quit' } })}\r\n`);
      sock.end();
    }
  });
  try {
    const qmp = await connecting;
    assert.equal(qmp.greeting?.QMP.version?.qemu?.major, 7);
    const [a, b] = await Promise.all([qmp.queryStatus(), qmp.queryStatus()]);
    assert.deepEqual(a, { status: 'running', running: true });
    assert.deepEqual(b, { status: 'paused', running: false });
    await assert.rejects(
      qmp.screendump('/tmp/x.png'),
      (e: unknown) => e instanceof QmpError && e.errorClass === 'GenericError' && /no surface/.test(e.message),
    );
    await qmp.sendKey(['ret']);
    await qmp.quit();
    await qmp.closed;
    assert.equal(qmp.isClosed, true);
    assert.deepEqual(
      events.map((e) => e.event),
      ['STOP', 'SHUTDOWN'],
    );
    await assert.rejects(qmp.queryStatus(), QmpError);
  } finally {
    server.close();
  }
});

test('quit counts a connection closed before the reply as success', async () => {
  const path = join(dir, 'quit.sock');
  const server = await fakeQemu(path, (msg, sock) => {
    if (msg.execute === 'quit') sock.destroy();
  });
  try {
    const qmp = await QmpClient.connect({ socketPath: path, timeoutMs: 2000 });
    await qmp.quit();
  } finally {
    server.close();
  }
});

test('connect gives up when told QEMU is gone, or at the deadline', async () => {
  const started = Date.now();
  await assert.rejects(
    QmpClient.connect({ socketPath: join(dir, 'never.sock'), timeoutMs: 10_000, shouldRetry: () => false }),
    (e: unknown) => e instanceof QmpError && e.errorClass === 'ConnectionFailed',
  );
  assert.ok(Date.now() - started < 1000);
  await assert.rejects(QmpClient.connect({ socketPath: join(dir, 'never.sock'), timeoutMs: 300 }), QmpError);
});

test('a command without an answer times out', async () => {
  const path = join(dir, 'silent.sock');
  const server = await fakeQemu(path, () => {});
  try {
    const qmp = await QmpClient.connect({ socketPath: path, timeoutMs: 2000 });
    await assert.rejects(
      qmp.execute('query-status', undefined, { timeoutMs: 200 }),
      (e: unknown) => e instanceof QmpError && e.errorClass === 'Timeout',
    );
    qmp.close();
    await qmp.closed;
  } finally {
    server.close();
  }
});
