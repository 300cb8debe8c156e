// A minimal QMP (QEMU Machine Protocol) client over a unix socket: connect, negotiate, run commands, watch events.
import { createConnection, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { InterruptedError, RemasterError } from '../errors.js';

export interface QmpEvent {
  event: string;
  data?: unknown;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpGreeting {
  QMP: {
    version?: { qemu?: { major: number; minor: number; micro: number }; package?: string };
    capabilities?: string[];
  };
}

export interface QmpStatus {
  status: string;
  running: boolean;
}

/** A command QEMU answered with an error, or a connection that failed or closed. */
export class QmpError extends RemasterError {
  constructor(
    message: string,
    /** QMP error class (`GenericError`, `CommandNotFound`...) or `ConnectionClosed` / `Timeout`. */
    readonly errorClass: string,
  ) {
    super(message);
  }
}

/** Split newline-delimited JSON. Returns the parsed messages and the unfinished tail; unparsable lines are skipped. */
export function splitQmpMessages(buffer: string): { messages: Record<string, unknown>[]; rest: string } {
  const parts = buffer.split('\n');
  const rest = parts.pop() ?? '';
  const messages: Record<string, unknown>[] = [];
  for (const part of parts) {
    const line = part.trim();
    if (!line) continue;
    try {
      const v: unknown = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v)) messages.push(v as Record<string, unknown>);
    } catch {
      // not JSON: ignore (QMP only ever sends JSON objects)
    }
  }
  return { messages, rest };
}

export interface QmpConnectOptions {
  socketPath: string;
  /** Total time allowed for QEMU to create the socket and finish the handshake (default 30 s). */
  timeoutMs?: number;
  retryDelayMs?: number;
  signal?: AbortSignal | undefined;
  /** Called before each retry; return false to give up early (e.g. QEMU already exited). */
  shouldRetry?: () => boolean;
  onEvent?: (event: QmpEvent) => void;
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

function connectOnce(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    const onError = (e: Error) => {
      socket.destroy();
      reject(e);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

export class QmpClient {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private greetingWaiter: ((g: QmpGreeting) => void) | undefined;
  private closedFlag = false;
  /** Resolves when the connection is gone (QEMU quit, crashed, or close() was called). */
  readonly closed: Promise<void>;
  greeting: QmpGreeting | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly onEvent: ((event: QmpEvent) => void) | undefined,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => {
      // surfaced through 'close' below
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.closedFlag = true;
        for (const [id, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new QmpError(`QMP connection closed while running ${p.command}`, 'ConnectionClosed'));
          this.pending.delete(id);
        }
        resolve();
      });
    });
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** Connect (retrying until QEMU has created the socket), read the greeting and enter command mode. */
  static async connect(o: QmpConnectOptions): Promise<QmpClient> {
    const timeoutMs = o.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      if (o.signal?.aborted) throw new InterruptedError('interrupted while connecting to QEMU');
      try {
        const socket = await connectOnce(o.socketPath);
        const client = new QmpClient(socket, o.onEvent);
        try {
          await client.handshake(Math.max(1000, deadline - Date.now()));
          return client;
        } catch (e) {
          client.close();
          throw e;
        }
      } catch (e) {
        lastError = e;
        if (e instanceof QmpError && e.errorClass !== 'ConnectionClosed') throw e;
      }
      if (Date.now() >= deadline || (o.shouldRetry && !o.shouldRetry())) break;
      await sleep(o.retryDelayMs ?? 100);
    }
    const why = lastError instanceof Error ? lastError.message : String(lastError);
    throw new QmpError(`could not connect to QEMU's QMP socket ${o.socketPath}: ${why}`, 'ConnectionFailed');
  }

  private async handshake(timeoutMs: number): Promise<void> {
    this.greeting = await new Promise<QmpGreeting>((resolve, reject) => {
      const timer = setTimeout(() => reject(new QmpError('no QMP greeting from QEMU', 'Timeout')), timeoutMs);
      this.greetingWaiter = (g) => {
        clearTimeout(timer);
        resolve(g);
      };
      void this.closed.then(() => {
        clearTimeout(timer);
        reject(new QmpError('QMP connection closed before the greeting', 'ConnectionClosed'));
      });
    });
    await this.execute('qmp_capabilities', undefined, { timeoutMs });
  }

  private onData(chunk: string): void {
    const { messages, rest } = splitQmpMessages(this.buffer + chunk);
    this.buffer = rest;
    for (const msg of messages) {
      if ('QMP' in msg) {
        this.greetingWaiter?.(msg as unknown as QmpGreeting);
        this.greetingWaiter = undefined;
      } else if (typeof msg.event === 'string') {
        this.onEvent?.(msg as unknown as QmpEvent);
      } else if ('id' in msg) {
        const id = String(msg.id);
        const p = this.pending.get(id);
        if (!p) continue;
        this.pending.delete(id);
        clearTimeout(p.timer);
        if ('error' in msg) {
          const err = (msg.error ?? {}) as { class?: string; desc?: string };
          p.reject(new QmpError(`QMP ${p.command} failed: ${err.desc ?? 'unknown error'}`, err.class ?? 'GenericError'));
        } else {
          p.resolve(msg.return);
        }
      }
    }
  }

  /** Run a command; resolves with its `return` value, rejects with QmpError on an `error` reply, timeout or close. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, o: { timeoutMs?: number } = {}): Promise<T> {
    if (this.closedFlag) {
      return Promise.reject(new QmpError(`QMP connection closed; cannot run ${command}`, 'ConnectionClosed'));
    }
    const id = `remaster-${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpError(`QMP ${command} got no answer within ${o.timeoutMs ?? 30_000} ms`, 'Timeout'));
      }, o.timeoutMs ?? 30_000);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      const msg = args === undefined ? { execute: command, id } : { execute: command, arguments: args, id };
      this.socket.write(`${JSON.stringify(msg)}\n`);
    });
  }

  /** Save the current display as a PNG (QEMU >= 7.1 accepts format png). `filename` must be absolute. */
  async screendump(filename: string): Promise<void> {
    await this.execute('screendump', { filename, format: 'png' });
  }

  /** Press keys together, e.g. ['ret'] or ['ctrl', 'alt', 'delete'] (QEMU qcodes). */
  async sendKey(keys: readonly string[], holdTimeMs?: number): Promise<void> {
    const args: Record<string, unknown> = { keys: keys.map((k) => ({ type: 'qcode', data: k })) };
    if (holdTimeMs !== undefined) args['hold-time'] = holdTimeMs;
    await this.execute('send-key', args);
  }

  async queryStatus(): Promise<QmpStatus> {
    return this.execute<QmpStatus>('query-status');
  }

  /** Ask QEMU to exit. A connection that closes before the reply counts as success. */
  async quit(o: { timeoutMs?: number } = {}): Promise<void> {
    try {
      await this.execute('quit', undefined, { timeoutMs: o.timeoutMs ?? 5000 });
    } catch (e) {
      if (e instanceof QmpError && e.errorClass === 'ConnectionClosed') return;
      throw e;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
