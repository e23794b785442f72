// User-facing errors. Anything thrown with a numeric `exitCode` is shown as one line
// (`error: <message>` then the fix); anything else is a bug and shows a stack with --debug.

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  inputNeeded: 4,
} as const;

export class OmniError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;
  constructor(message: string, options: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OmniError';
    this.exitCode = options.exitCode ?? ExitCode.failure;
    this.hint = options.hint;
  }
}

/** Bad flags, bad values, failed validation: exit 2. */
export class UsageError extends OmniError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.usage, ...(hint ? { hint } : {}) });
    this.name = 'UsageError';
  }
}

/** A value was needed but we may not prompt for it (no TTY or --no-input): exit 4. */
export class InputNeededError extends OmniError {
  constructor(readonly missing: string[], hint?: string) {
    super(`missing ${missing.join(', ')} (required when not interactive)`, {
      exitCode: ExitCode.inputNeeded,
      ...(hint ? { hint } : {}),
    });
    this.name = 'InputNeededError';
  }
}

export class NotFoundError extends OmniError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.failure, ...(hint ? { hint } : {}) });
    this.name = 'NotFoundError';
  }
}

export interface UserFacingError {
  message: string;
  exitCode: number;
  hint?: string | undefined;
}

/** Duck-typed so that src/db (which imports nothing of ours) can throw user-facing errors too. */
export function isUserFacing(err: unknown): err is UserFacingError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { exitCode?: unknown }).exitCode === 'number' &&
    typeof (err as { message?: unknown }).message === 'string'
  );
}
