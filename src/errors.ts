// The one error family: a message that says what failed, a hint that says what to do, an exit code.

export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorDetails {
  hint?: string | undefined;
  cause?: unknown;
}

export class RemasterError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: ExitCode = ExitCode.failed;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.hint = details.hint;
  }
}

/** Bad flags, bad config, unusable input (not an ISO, no Linux root...): exit 2, refused before any work. */
export class UsageError extends RemasterError {
  override readonly exitCode = ExitCode.usage;
}

/** An external tool failed or is missing. */
export class ToolError extends RemasterError {
  constructor(
    message: string,
    readonly tool: string,
    readonly stderrTail: string,
    details: ErrorDetails = {},
  ) {
    super(message, details);
  }
}

/** The built ISO did not prove itself in the guest. */
export class VerificationError extends RemasterError {}

/** The run was cancelled by SIGINT/SIGTERM. */
export class InterruptedError extends RemasterError {
  override readonly exitCode = ExitCode.interrupted;
}

export function isRemasterError(e: unknown): e is RemasterError {
  return e instanceof RemasterError;
}
