// Errors are values with exit codes. Domain code throws them; the CLI turns
// them into one stderr line and an exit code in exactly one place. A caller
// that must tell errors apart branches on `code`, never on the message.

export class GaError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** Stable: what kind of error this is, for callers and --json. */
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input or usage: exit 2. The message says what, where and what to do. */
export class UsageError extends GaError {
  constructor(message: string, code = 'usage') {
    super(message, 2, code);
  }
}

/** Refused by governance (gate, pause, budget, invalid approval, finding): exit 1. */
export class GovernanceRefusal extends GaError {
  constructor(message: string, code = 'refused') {
    super(message, 1, code);
  }
}

/** A git or system call failed in a way that is not the user's input. */
export class InternalError extends GaError {
  constructor(message: string) {
    super(message, 70, 'internal');
  }
}
