/**
 * Endpoint health: a circuit breaker and automatic disabling, as pure policy.
 *
 * After `openAfterFailures` failed attempts in a row the circuit opens: the endpoint's
 * deliveries wait (using no attempts) until the open period ends; then one probe is sent. A
 * failed probe reopens the circuit for twice as long (up to `openMaxMs`); any success closes it.
 * An endpoint failing without a single success for `disableAfterMs` is disabled.
 */
export interface HealthPolicy {
  /** Consecutive failures that open the circuit. Default 5. */
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
  | { kind: 'disable' };

export function afterFailure(streak: FailureStreak, now: number, policy: HealthPolicy): HealthVerdict {
  if (policy.disableAfterMs !== null && now - streak.failingSince >= policy.disableAfterMs) {
    return { kind: 'disable' };
  }
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
