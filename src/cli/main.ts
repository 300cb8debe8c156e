#!/usr/bin/env node
// argv -> config -> pipeline -> exit code: the only place that prints or exits.
import { ExitCode, isRemasterError, type RemasterError } from '../errors.js';
import { main } from './commands/index.js';

const controller = new AbortController();
let firstSignalAt = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (firstSignalAt === 0) {
      firstSignalAt = Date.now();
      process.stderr.write(`\nremaster: ${sig} received, stopping and undoing mounts (again to force)\n`);
      controller.abort(new Error(sig));
    } else if (Date.now() - firstSignalAt > 2000) {
      // A second signal from the user: leave now (a later run sweeps what is left mounted).
      process.exit(ExitCode.interrupted);
    }
    // Within 2 s it is the same interrupt re-raised (signal-exit in a dependency re-sends it to this
    // process, seen with strace): ignoring it is what lets the mounts be undone.
  });
}

const debug = process.argv.includes('--debug');
main(process.argv.slice(2), controller.signal).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (isRemasterError(e)) {
      process.stderr.write(`remaster: error: ${e.message}\n`);
      if (e.hint) process.stderr.write(`remaster: hint: ${e.hint}\n`);
      if (debug && e.cause) process.stderr.write(`${causeChain(e)}\n`);
      process.exitCode = controller.signal.aborted ? ExitCode.interrupted : e.exitCode;
    } else {
      process.stderr.write(`remaster: internal error (a bug; please report it):\n${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = ExitCode.failed;
    }
  },
);

function causeChain(e: RemasterError): string {
  const lines: string[] = [];
  let c: unknown = e.cause;
  while (c) {
    lines.push(`  caused by: ${c instanceof Error ? (c.stack ?? c.message) : JSON.stringify(c).slice(0, 2000)}`);
    c = c instanceof Error ? c.cause : undefined;
  }
  return lines.join('\n');
}
