// The one source of time. Tests and the demo inject their own.

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** RFC 3339 in UTC, second precision (what TOML and the audit log carry). */
export function rfc3339(d: Date): string {
  // A fresh Date: a TOML date keeps its original offset in toISOString().
  return new Date(d.getTime()).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A lease (a claim's or a reservation's, DESIGN "Leases") runs this long past the time limit it covers. */
export const LEASE_GRACE_MS = 60_000;

export function leaseUntil(from: Date, limitMs: number): Date {
  return new Date(from.getTime() + limitMs + LEASE_GRACE_MS);
}
