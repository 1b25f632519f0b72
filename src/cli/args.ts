// Checks shared by several commands' arguments.
import { UsageError } from '../errors.js';

/** A reason that says something: required on reject, pause and resume. */
export function requireReason(reason: string | undefined, command: string): string {
  const r = (reason ?? '').trim();
  if (!r) throw new UsageError(`${command} needs --reason "why"`);
  return r;
}
