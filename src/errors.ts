// Errors are values with exit codes. Domain code throws them; the CLI turns
// them into one stderr line and an exit code in exactly one place.

export class GaError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input or usage: exit 2. The message says what, where and what to do. */
export class UsageError extends GaError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** Refused by governance (gate, pause, budget, invalid approval, finding): exit 1. */
export class GovernanceRefusal extends GaError {
  constructor(message: string) {
    super(message, 1);
  }
}

/** A git or system call failed in a way that is not the user's input. */
export class InternalError extends GaError {
  constructor(message: string) {
    super(message, 70);
  }
}
