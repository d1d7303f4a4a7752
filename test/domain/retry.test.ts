import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  type DeliveryControl,
  JITTER_FRACTION,
  MAX_RETRY_AFTER_SECONDS,
  nextAfterAttempt,
  nextRetry,
  parseDeliveryControl,
  parseRetryAfter,
  parseRetrySchedule,
} from '../../src/domain/retry.js';

const low = () => 0;
const mid = () => 0.5;
const high = () => 1;

function delayOf(decision: ReturnType<typeof nextRetry>): number {
  if (decision.kind !== 'retry') throw new Error(`expected a retry, got ${decision.kind}`);
  return decision.delayMs;
}

describe('nextRetry follows the schedule', () => {
  it('uses the default schedule of 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h', () => {
    expect(DEFAULT_RETRY_SCHEDULE_SECONDS).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000]);
  });

  it('waits exactly the scheduled delay when the jitter is centred', () => {
    DEFAULT_RETRY_SCHEDULE_SECONDS.forEach((seconds, i) => {
      expect(nextRetry(DEFAULT_RETRY_SCHEDULE_SECONDS, i + 1, null, mid)).toEqual({
        kind: 'retry',
        delayMs: seconds * 1000,
      });
    });
  });

  it('keeps the jitter within ±20% of the scheduled delay', () => {
    expect(JITTER_FRACTION).toBe(0.2);
    DEFAULT_RETRY_SCHEDULE_SECONDS.forEach((seconds, i) => {
      expect(delayOf(nextRetry(DEFAULT_RETRY_SCHEDULE_SECONDS, i + 1, null, low))).toBe(
        Math.round(seconds * 1000 * 0.8),
      );
      expect(delayOf(nextRetry(DEFAULT_RETRY_SCHEDULE_SECONDS, i + 1, null, high))).toBe(
        Math.round(seconds * 1000 * 1.2),
      );
    });
  });

  it('stays within the jitter bounds for real randomness', () => {
    for (let i = 0; i < 1000; i++) {
      const delay = delayOf(nextRetry([300], 1, null));
      expect(delay).toBeGreaterThanOrEqual(240_000);
      expect(delay).toBeLessThanOrEqual(360_000);
    }
  });

  it('gives up once the schedule is used up', () => {
    const n = DEFAULT_RETRY_SCHEDULE_SECONDS.length;
    expect(nextRetry(DEFAULT_RETRY_SCHEDULE_SECONDS, n, null, mid).kind).toBe('retry');
    expect(nextRetry(DEFAULT_RETRY_SCHEDULE_SECONDS, n + 1, null, mid)).toEqual({ kind: 'give_up' });
    expect(nextRetry(DEFAULT_RETRY_SCHEDULE_SECONDS, n + 5, null, mid)).toEqual({ kind: 'give_up' });
  });

  it('gives up at once with an empty schedule', () => {
    expect(nextRetry([], 1, null, mid)).toEqual({ kind: 'give_up' });
  });
});

describe('nextRetry honours Retry-After within bounds', () => {
  it('lengthens the wait when the receiver asks for longer', () => {
    expect(delayOf(nextRetry([5], 1, 60, high))).toBe(60_000);
  });

  it('never shortens the wait below the schedule', () => {
    expect(delayOf(nextRetry([300], 1, 1, mid))).toBe(300_000);
    expect(delayOf(nextRetry([300], 1, 0, low))).toBe(240_000);
  });

  it('caps a huge Retry-After at MAX_RETRY_AFTER_SECONDS', () => {
    expect(MAX_RETRY_AFTER_SECONDS).toBe(24 * 60 * 60);
    expect(delayOf(nextRetry([5], 1, 10 * 365 * 24 * 3600, mid))).toBe(MAX_RETRY_AFTER_SECONDS * 1000);
  });

  it('does not extend the retry budget: Retry-After after the last attempt still gives up', () => {
    expect(nextRetry([5], 2, 60, mid)).toEqual({ kind: 'give_up' });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter(' 7 ', now)).toBe(7);
    expect(parseRetryAfter('0', now)).toBe(0);
  });

  it('reads an HTTP-date as seconds from now, rounded up', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:00 GMT', now + 500)).toBe(0);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now + 500)).toBe(10);
  });

  it('treats an HTTP-date in the past as zero', () => {
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
  });

  it('returns null for an absent header or garbage', () => {
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter('', now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('12abc', now)).toBeNull();
  });
});

describe('parseRetrySchedule', () => {
  it('parses comma-separated seconds', () => {
    expect(parseRetrySchedule('1,1,1')).toEqual([1, 1, 1]);
    expect(parseRetrySchedule(' 5, 300 ,1800')).toEqual([5, 300, 1800]);
    expect(parseRetrySchedule('0')).toEqual([0]);
  });

  it('reads an empty string as "no retries"', () => {
    expect(parseRetrySchedule('')).toEqual([]);
    expect(parseRetrySchedule('  ')).toEqual([]);
  });

  it.each(['-1', 'x', '5,x', '1,-1', 'Infinity'])('rejects %j', (text) => {
    expect(() => parseRetrySchedule(text)).toThrow(/invalid retry delay/);
  });

  it.each(['1,,1', '5,300,', ',5'])('rejects the empty entry in %j instead of reading it as 0 s', (text) => {
    expect(() => parseRetrySchedule(text)).toThrow(/invalid retry delay/);
  });
});

describe('parseDeliveryControl', () => {
  it.each([
    ['disable', 'disable'],
    ['abort-message', 'abort-message'],
    [' Disable ', 'disable'],
    ['ABORT-MESSAGE', 'abort-message'],
    ['abort-message, disable', 'disable'],
    ['foo, abort-message', 'abort-message'],
  ] as const)('reads %j as %s', (value, expected) => {
    expect(parseDeliveryControl(value)).toBe(expected);
  });

  it.each([undefined, '', 'enable', 'disabled', 'abort', 'abort-message-now'])('ignores %j', (value) => {
    expect(parseDeliveryControl(value)).toBeNull();
  });
});

describe('nextAfterAttempt', () => {
  const now = 1_700_000_000_000;
  const schedule = [5, 300];
  const answer = (
    statusCode: number,
    retryAfterSeconds: number | null = null,
    control: DeliveryControl | null = null,
  ) => ({
    statusCode,
    retryAfterSeconds,
    control,
  });

  it.each([200, 201, 204, 299])('marks the delivery succeeded on %i', (status) => {
    expect(nextAfterAttempt(schedule, 1, answer(status), now, mid)).toEqual({ kind: 'succeeded' });
  });

  it('fails the delivery and disables the endpoint on 410 Gone, even with retries left', () => {
    expect(nextAfterAttempt(schedule, 1, answer(410), now, mid)).toEqual({
      kind: 'failed_and_disable_endpoint',
    });
  });

  it.each([500, 503, 429, 404, 400, 302, 199, 300])('retries %i at now + the scheduled delay', (status) => {
    expect(nextAfterAttempt(schedule, 1, answer(status), now, mid)).toEqual({
      kind: 'retry',
      at: now + 5000,
    });
    expect(nextAfterAttempt(schedule, 2, answer(status), now, mid)).toEqual({
      kind: 'retry',
      at: now + 300_000,
    });
  });

  it('retries a network error (status 0)', () => {
    expect(nextAfterAttempt(schedule, 1, answer(0), now, mid)).toEqual({ kind: 'retry', at: now + 5000 });
  });

  it.each([429, 503])('lengthens the wait of a %i to its Retry-After', (status) => {
    expect(nextAfterAttempt(schedule, 1, answer(status, 120), now, mid)).toEqual({
      kind: 'retry',
      at: now + 120_000,
    });
  });

  it.each([429, 503])('never shortens the schedule for a %i with a small Retry-After', (status) => {
    expect(nextAfterAttempt(schedule, 2, answer(status, 1), now, mid)).toEqual({
      kind: 'retry',
      at: now + 300_000,
    });
  });

  it('caps Retry-After at a day', () => {
    expect(nextAfterAttempt(schedule, 1, answer(503, 10 * MAX_RETRY_AFTER_SECONDS), now, mid)).toEqual({
      kind: 'retry',
      at: now + MAX_RETRY_AFTER_SECONDS * 1000,
    });
  });

  it('does not revive a used-up schedule for a Retry-After', () => {
    expect(nextAfterAttempt(schedule, 3, answer(429, 60), now, mid)).toEqual({ kind: 'failed' });
  });

  it('fails once the schedule is exhausted', () => {
    expect(nextAfterAttempt(schedule, 3, answer(500), now, mid)).toEqual({ kind: 'failed' });
    expect(nextAfterAttempt(schedule, 3, answer(0), now, mid)).toEqual({ kind: 'failed' });
    expect(nextAfterAttempt([], 1, answer(500), now, mid)).toEqual({ kind: 'failed' });
  });

  it('still succeeds on a 2xx after the schedule is exhausted', () => {
    expect(nextAfterAttempt(schedule, 3, answer(200), now, mid)).toEqual({ kind: 'succeeded' });
  });

  it.each([500, 503, 429, 400, 302, 0])(
    'disables the endpoint when a %i carries webhook-delivery: disable, like 410 Gone',
    (status) => {
      expect(nextAfterAttempt(schedule, 1, answer(status, 60, 'disable'), now, mid)).toEqual({
        kind: 'failed_and_disable_endpoint',
      });
    },
  );

  it.each([500, 503, 429, 400, 302])(
    'fails the delivery at once, retries left, when a %i carries webhook-delivery: abort-message',
    (status) => {
      expect(nextAfterAttempt(schedule, 1, answer(status, 60, 'abort-message'), now, mid)).toEqual({
        kind: 'failed',
      });
    },
  );

  it('lets 410 Gone disable the endpoint even with abort-message', () => {
    expect(nextAfterAttempt(schedule, 1, answer(410, null, 'abort-message'), now, mid)).toEqual({
      kind: 'failed_and_disable_endpoint',
    });
  });

  it('keeps a 2xx a success even with abort-message', () => {
    expect(nextAfterAttempt(schedule, 1, answer(200, null, 'abort-message'), now, mid)).toEqual({
      kind: 'succeeded',
    });
  });

  it.each([200, 204])(
    'keeps a %i with webhook-delivery: disable a success that disables the endpoint',
    (status) => {
      expect(nextAfterAttempt(schedule, 1, answer(status, null, 'disable'), now, mid)).toEqual({
        kind: 'succeeded_and_disable_endpoint',
      });
    },
  );
});
