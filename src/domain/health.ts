/**
 * Endpoint health: a circuit breaker and automatic disabling, as pure policy.
 *
 * After `openAfterFailures` failed attempts in a row the circuit opens: the endpoint's
 * deliveries wait (using no attempts) until the open period ends; then one probe is sent. A
 * failed probe reopens the circuit for twice as long (up to `openMaxMs`); any success closes it.
 * An endpoint failing without a single success for `disableAfterMs` is disabled.
 */
export interface HealthPolicy {
  /** Consecutive failures that open the circuit; 0 turns the breaker off. Default 5. */
  openAfterFailures: number;
  /** First open period, in ms; doubles with each further failure. Default 30 s. */
  openBaseMs: number;
  /** Longest open period, in ms. Default 10 minutes. */
  openMaxMs: number;
  /** Continuous failure after which the endpoint is disabled, in ms; null never. Default 5 days. */
  disableAfterMs: number | null;
}

export const DEFAULT_HEALTH_POLICY: HealthPolicy = {
  openAfterFailures: 5,
  openBaseMs: 30_000,
  openMaxMs: 10 * 60_000,
  disableAfterMs: 5 * 24 * 3600 * 1000,
};

/** What a claim does with a due delivery, given its endpoint's circuit and attempts in flight. */
export type DueVerdict =
  /** Lease it and attempt it now. */
  | { kind: 'claim' }
  /**
   * The endpoint can take nothing until `until` (its circuit is open, or half-open with its one
   * probe in flight until the probe's lease ends): hold all its waiting deliveries back until
   * then, out of the due range, so they cannot fill claims that other endpoints' work could use.
   */
  | { kind: 'hold'; until: number }
  /** The endpoint is at its concurrency limit: leave its deliveries due, skip them in this claim. */
  | { kind: 'full' };

/**
 * The verdict on a due delivery of an endpoint whose `circuit_open_until` is `openUntil` (see
 * FailureStreak) with `inFlight` attempts running; `leaseUntil` is when a lease granted now ends.
 */
export function dueVerdict(
  openUntil: number,
  inFlight: number,
  perEndpointLimit: number,
  now: number,
  leaseUntil: number,
): DueVerdict {
  if (openUntil > now) return { kind: 'hold', until: openUntil };
  // Half-open: one probe at a time until a success closes the circuit.
  if (openUntil > 0) return inFlight >= 1 ? { kind: 'hold', until: leaseUntil } : { kind: 'claim' };
  return inFlight >= perEndpointLimit ? { kind: 'full' } : { kind: 'claim' };
}

/** The endpoint's state after counting the failure just recorded. */
export interface FailureStreak {
  consecutiveFailures: number;
  /** When the current run of failures began. */
  failingSince: number;
  /** 0: closed; in the future: open; in the past: half-open (probing). */
  circuitOpenUntil: number;
  /** How long the circuit was last opened for, in ms (0 when closed). */
  circuitPeriodMs: number;
}

export type HealthVerdict =
  | { kind: 'keep_going' }
  | { kind: 'open'; until: number; periodMs: number }
  /** The breaker is off but the endpoint's circuit is not closed (it opened while the breaker was on). */
  | { kind: 'close' }
  | { kind: 'disable' };

export function afterFailure(streak: FailureStreak, now: number, policy: HealthPolicy): HealthVerdict {
  if (policy.disableAfterMs !== null && now - streak.failingSince >= policy.disableAfterMs) {
    return { kind: 'disable' };
  }
  // Breaker off: failures only count towards disabling. A circuit left open or half-open from
  // when it was on (a restart with the new setting) closes, or it would keep the endpoint to one
  // probe at a time, the rest of its deliveries held back a lease each.
  if (policy.openAfterFailures === 0)
    return streak.circuitOpenUntil !== 0 ? { kind: 'close' } : { kind: 'keep_going' };
  // Already open: failures of attempts that were in flight when it opened change nothing.
  if (streak.circuitOpenUntil > now) return { kind: 'keep_going' };
  if (streak.circuitOpenUntil > 0) {
    // Half-open and the probe failed: open again, for twice as long.
    const periodMs = Math.min(Math.max(streak.circuitPeriodMs, policy.openBaseMs) * 2, policy.openMaxMs);
    return { kind: 'open', until: now + periodMs, periodMs };
  }
  if (streak.consecutiveFailures < policy.openAfterFailures) return { kind: 'keep_going' };
  const periodMs = Math.min(policy.openBaseMs, policy.openMaxMs);
  return { kind: 'open', until: now + periodMs, periodMs };
}

/** Why an endpoint is disabled, as shown on it. */
export type DisabledReason = 'manual' | 'gone' | 'receiver_requested' | 'failing';

/** What an edit of an endpoint changes, as far as its health is concerned. */
export interface EndpointEdit {
  before: { url: string; headers: Record<string, string>; disabled: boolean };
  after: { url: string; headers?: Record<string, string> | undefined; disabled: boolean };
  secretRotated: boolean;
}

/**
 * Whether an edit closes the endpoint's circuit: a new URL, headers or secret, or enabling it, is
 * its owner fixing it. Its deliveries must not wait out an open period that measured the endpoint
 * as it was (recovering it closes the circuit too). Other edits (description, filters) do not.
 */
export function editClosesCircuit({ before, after, secretRotated }: EndpointEdit): boolean {
  if (secretRotated || after.url !== before.url || (before.disabled && !after.disabled)) return true;
  return after.headers !== undefined && !sameHeaders(before.headers, after.headers);
}

function sameHeaders(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
