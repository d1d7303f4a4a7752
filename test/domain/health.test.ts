import { describe, expect, it } from 'vitest';
import {
  afterFailure,
  dueVerdict,
  editClosesCircuit,
  type FailureStreak,
  type HealthPolicy,
} from '../../src/domain/health.js';

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

describe('afterFailure with the breaker off (threshold 0)', () => {
  it('never opens the circuit, but still disables an endpoint failing for too long', () => {
    const off = { ...policy, openAfterFailures: 0 };
    expect(afterFailure(streak({ consecutiveFailures: 1000 }), now, off)).toEqual({ kind: 'keep_going' });
    expect(afterFailure(streak({ failingSince: now - 86_400_000 }), now, off)).toEqual({ kind: 'disable' });
  });

  it('closes a circuit that opened while the breaker was on', () => {
    const off = { ...policy, openAfterFailures: 0 };
    expect(afterFailure(streak({ circuitOpenUntil: now - 1 }), now, off)).toEqual({ kind: 'close' });
    expect(afterFailure(streak({ circuitOpenUntil: now + 1000 }), now, off)).toEqual({ kind: 'close' });
  });
});

describe('dueVerdict', () => {
  const leaseUntil = now + 20_000;
  it('claims for a closed circuit below the concurrency limit, and passes over one at it', () => {
    expect(dueVerdict(0, 15, 16, now, leaseUntil)).toEqual({ kind: 'claim' });
    expect(dueVerdict(0, 16, 16, now, leaseUntil)).toEqual({ kind: 'full' });
  });

  it("holds an open circuit's deliveries until it half-opens", () => {
    expect(dueVerdict(now + 5000, 0, 16, now, leaseUntil)).toEqual({ kind: 'hold', until: now + 5000 });
  });

  it("lets a half-open circuit send one probe, and holds the rest until the probe's lease ends", () => {
    expect(dueVerdict(now - 1, 0, 16, now, leaseUntil)).toEqual({ kind: 'claim' });
    expect(dueVerdict(now - 1, 1, 16, now, leaseUntil)).toEqual({ kind: 'hold', until: leaseUntil });
  });
});

describe('editClosesCircuit', () => {
  const before = {
    url: 'https://a.example/hook',
    headers: { 'x-a': '1' } as Record<string, string>,
    disabled: false,
  };
  const edit = (after: Partial<typeof before>, secretRotated = false) =>
    editClosesCircuit({ before, after: { ...before, headers: undefined, ...after }, secretRotated });

  it('closes it for a new URL, new headers, a new secret or enabling', () => {
    expect(edit({ url: 'https://b.example/hook' })).toBe(true);
    expect(edit({ headers: { 'x-a': '2' } })).toBe(true);
    expect(edit({ headers: {} })).toBe(true);
    expect(edit({}, true)).toBe(true);
    expect(
      editClosesCircuit({ before: { ...before, disabled: true }, after: before, secretRotated: false }),
    ).toBe(true);
  });

  it('leaves it for edits that change nothing about sending', () => {
    expect(edit({})).toBe(false);
    expect(edit({ headers: { 'x-a': '1' } })).toBe(false);
    expect(edit({ disabled: true })).toBe(false);
  });
});
