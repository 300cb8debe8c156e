// One running QEMU: started in its own process group, reached over QMP for screenshots, keys and a clean quit,
// killed on every exit path. It never outlives its owner.
import { setTimeout as sleep } from 'node:timers/promises';
import { InterruptedError, type RemasterError, ToolError } from '../errors.js';
import { quoteArgv, spawn } from '../exec/run.js';
import { QEMU_BINARY } from './accel.js';
import { QmpClient } from './qmp.js';

type Child = ReturnType<typeof spawn>;
type Exit = Awaited<Child>;

export class QemuProcess {
  /** The command line, for logs and errors. */
  readonly command: string;
  readonly startedAt = performance.now();
  private readonly child: Child;
  private readonly exitedP: Promise<Exit>;
  private exit: Exit | undefined;
  private exitAtMs: number | undefined;
  private killedByUs = false;
  private qmp: QmpClient | undefined;

  constructor(argv: readonly string[], signal: AbortSignal) {
    this.command = quoteArgv([QEMU_BINARY, ...argv]);
    this.child = spawn(QEMU_BINARY, argv, { signal });
    this.exitedP = this.child.then((r) => {
      this.exit = r;
      this.exitAtMs = this.elapsed();
      return r;
    });
  }

  /** Milliseconds since QEMU was started. */
  elapsed(): number {
    return performance.now() - this.startedAt;
  }

  get hasExited(): boolean {
    return this.exit !== undefined;
  }

  /** When it exited (ms since start), or now if it still runs. */
  get durationMs(): number {
    return Math.round(this.exitAtMs ?? this.elapsed());
  }

  /** Resolves when QEMU is gone. */
  exited(): Promise<unknown> {
    return this.exitedP;
  }

  /** Connect QMP; a QEMU that died on start or never answers becomes a ToolError with its stderr. */
  async connectQmp(socketPath: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    try {
      this.qmp = await QmpClient.connect({ socketPath, timeoutMs, signal, shouldRetry: () => this.exit === undefined });
    } catch (e) {
      if (signal.aborted) throw new InterruptedError('interrupted while starting QEMU');
      await Promise.race([this.exitedP, sleep(1000)]);
      if (this.exit) throw qemuFailure(this.exit, this.command);
      throw new ToolError(`QEMU started but its QMP socket never answered: ${(e as Error).message}`, QEMU_BINARY, '', { cause: e });
    }
  }

  /** Write a PNG of the screen; false when QEMU or QMP is gone. */
  async screenshot(file: string): Promise<boolean> {
    if (!this.qmp || this.qmp.isClosed || this.exit) return false;
    await this.qmp.screendump(file);
    return true;
  }

  async pressEnter(): Promise<void> {
    if (this.qmp && !this.exit) await this.qmp.sendKey(['ret']).catch(() => {});
  }

  /** SIGKILL: the guest gets no shutdown (a power cut, or the end of a boot we stopped caring about). */
  async kill(): Promise<void> {
    if (this.exit) return;
    this.killedByUs = true;
    this.child.kill('SIGKILL');
    await this.exitedP;
  }

  /** Ask QEMU to quit; SIGKILL if it is still there after a few seconds. */
  async stop(): Promise<void> {
    if (this.exit) return;
    if (this.qmp && !this.qmp.isClosed) {
      this.killedByUs = true;
      await this.qmp.quit().catch(() => {});
      await Promise.race([this.exitedP, sleep(5000)]);
    }
    await this.kill();
  }

  /** Close QMP and make sure QEMU is gone; throws when QEMU itself failed (not killed by us, not a guest poweroff). */
  async close(): Promise<void> {
    this.qmp?.close();
    await this.kill();
  }

  /** QEMU ended by itself with an error (a bad argument, a missing firmware file). */
  failure(): RemasterError | undefined {
    const e = this.exit;
    if (!e || this.killedByUs || e.isCanceled || (e.exitCode === 0 && !e.signal)) return undefined;
    return qemuFailure(e, this.command);
  }
}

function qemuFailure(
  r: { exitCode?: number | undefined; signal?: string | undefined; stderr?: unknown; cause?: unknown },
  command: string,
): RemasterError {
  if ((r.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return new ToolError(`${QEMU_BINARY} is not installed`, QEMU_BINARY, '', {
      hint: 'install it: apt-get install qemu-system-x86',
    });
  }
  const stderr = String(r.stderr ?? '').trim();
  const tail = stderr.split('\n').slice(-8).join('\n');
  const why = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`;
  return new ToolError(`${QEMU_BINARY} ${why}: ${command}${tail ? `\n    ${tail.replaceAll('\n', '\n    ')}` : ''}`, QEMU_BINARY, tail);
}
