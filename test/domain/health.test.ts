import { describe, expect, it } from 'vitest';
import { afterFailure, type FailureStreak, type HealthPolicy } from '../../src/domain/health.js';

const policy: HealthPolicy = {
  openAfterFailures: 5,
  openBaseMs: 30_000,
  openMaxMs: 600_000,
  disableAfterMs: 86_400_000,
};
const now = 1_000_000_000_000;
const streak = (over: Partial<FailureStreak>): FailureStreak => ({
  consecutiveFailures: 1,
  failingSince: now,
  circuitOpenUntil: 0,
  circuitPeriodMs: 0,
  ...over,
});

describe('afterFailure', () => {
  it('keeps going below the threshold and opens the circuit for the base period at it', () => {
    expect(afterFailure(streak({ consecutiveFailures: 4 }), now, policy)).toEqual({ kind: 'keep_going' });
    expect(afterFailure(streak({ consecutiveFailures: 5 }), now, policy)).toEqual({
      kind: 'open',
      until: now + 30_000,
      periodMs: 30_000,
    });
  });

  it('does not extend an open circuit for failures of attempts already in flight', () => {
    expect(afterFailure(streak({ consecutiveFailures: 12, circuitOpenUntil: now + 1 }), now, policy)).toEqual(
      {
        kind: 'keep_going',
      },
    );
  });

  it('doubles the open period after a failed probe, up to the maximum', () => {
    const probeFailed = streak({
      consecutiveFailures: 6,
      circuitOpenUntil: now - 1,
      circuitPeriodMs: 30_000,
    });
    expect(afterFailure(probeFailed, now, policy)).toEqual({
      kind: 'open',
      until: now + 60_000,
      periodMs: 60_000,
    });
    const longFailing = { ...probeFailed, circuitPeriodMs: 500_000 };
    expect(afterFailure(longFailing, now, policy)).toMatchObject({ periodMs: 600_000 });
  });

  it('disables an endpoint failing without a success for the configured time, or never when null', () => {
    const old = streak({ consecutiveFailures: 3, failingSince: now - 86_400_000 });
    expect(afterFailure(old, now, policy)).toEqual({ kind: 'disable' });
    expect(afterFailure(old, now, { ...policy, disableAfterMs: null })).toEqual({ kind: 'keep_going' });
  });
});
