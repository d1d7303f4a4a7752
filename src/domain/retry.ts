/**
 * Retry policy: pure functions of the attempt number and the receiver's answer.
 *
 * Following Svix, the schedule lists the delays *between* attempts after the first, immediate
 * one: `[5, 300, 1800, …]` means attempt 1 now, attempt 2 five seconds after attempt 1 failed,
 * and so on; when the list is used up the delivery fails.
 */
export const DEFAULT_RETRY_SCHEDULE_SECONDS: readonly number[] = [5, 300, 1800, 7200, 18000, 36000, 36000];

/** Jitter spreads retries of a burst of failures so a recovering receiver is not stampeded. */
export const JITTER_FRACTION = 0.2;

/** Longest wait a `Retry-After` header can impose: beyond it we keep our own schedule's pace. */
export const MAX_RETRY_AFTER_SECONDS = 24 * 60 * 60;

export type RetryDecision = { kind: 'retry'; delayMs: number } | { kind: 'give_up' };

/**
 * What to do after attempt number `attemptsMade` (1-based) failed.
 * `retryAfterSeconds` from the receiver can only lengthen the wait, never shorten it, and is capped.
 */
export function nextRetry(
  schedule: readonly number[],
  attemptsMade: number,
  retryAfterSeconds: number | null,
  random: () => number = Math.random,
): RetryDecision {
  const base = schedule[attemptsMade - 1];
  if (base === undefined) return { kind: 'give_up' };
  const jitter = 1 + (random() * 2 - 1) * JITTER_FRACTION;
  let delayMs = Math.round(base * 1000 * jitter);
  if (retryAfterSeconds !== null) {
    const askedMs = Math.min(retryAfterSeconds, MAX_RETRY_AFTER_SECONDS) * 1000;
    delayMs = Math.max(delayMs, askedMs);
  }
  return { kind: 'retry', delayMs };
}

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) into seconds from now;
 * null when absent or unparsable.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/** Parses `HOOKGATE_RETRY_SCHEDULE` ("5,300,1800"): non-negative seconds; an empty string means no retries. */
export function parseRetrySchedule(text: string): number[] {
  if (text.trim() === '') return [];
  return text.split(',').map((part) => {
    const trimmed = part.trim();
    // Number('') is 0: a stray comma must not add an immediate retry.
    if (!/^\d+(\.\d+)?$/.test(trimmed)) throw new Error(`invalid retry delay "${part}"`);
    return Number(trimmed);
  });
}

export function isSuccessStatus(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * Receiver control, as Svix defines it ("Delivery Control"): a `webhook-delivery` response header
 * saying `disable` (disable this endpoint) or `abort-message` (stop retrying this message).
 */
export type DeliveryControl = 'disable' | 'abort-message';

/**
 * Reads a `webhook-delivery` header value: case-insensitive, a comma-separated list tolerated,
 * `disable` winning over `abort-message` (it implies it); null when absent or unknown.
 */
export function parseDeliveryControl(value: string | undefined): DeliveryControl | null {
  if (!value) return null;
  const tokens = value.split(',').map((t) => t.trim().toLowerCase());
  if (tokens.includes('disable')) return 'disable';
  if (tokens.includes('abort-message')) return 'abort-message';
  return null;
}

/** What the receiver said about one attempt. */
export interface ReceiverAnswer {
  /** The HTTP status; 0 when no response arrived. */
  statusCode: number;
  /** `Retry-After` in seconds from now (see parseRetryAfter); null when absent. */
  retryAfterSeconds: number | null;
  /** The `webhook-delivery` instruction; null when none. */
  control: DeliveryControl | null;
}

/** What becomes of a delivery after one attempt. */
export type DeliveryNext =
  | { kind: 'succeeded' }
  /** A 2xx that also said `webhook-delivery: disable`: the delivery succeeded, the endpoint is disabled. */
  | { kind: 'succeeded_and_disable_endpoint' }
  | { kind: 'retry'; at: number }
  | { kind: 'failed' }
  /** The receiver answered 410 Gone or `webhook-delivery: disable`: fail the delivery and disable the endpoint. */
  | { kind: 'failed_and_disable_endpoint' };

/**
 * Decides the delivery's next state from the receiver's answer to attempt number `attemptsMade`
 * (1-based). In order:
 * - 2xx succeeds (Svix: `abort-message` has no effect on a success), and with
 *   `webhook-delivery: disable` it also disables the endpoint: the receiver asked to stop
 *   receiving, and that request does not depend on whether it accepted this message;
 * - 410 Gone or `webhook-delivery: disable` fails the delivery and disables the endpoint;
 * - `webhook-delivery: abort-message` fails the delivery now, retries left or not;
 * - anything else is retried on the schedule, `Retry-After` (429, 503, …) lengthening the wait,
 *   and fails once the schedule is used up.
 */
export function nextAfterAttempt(
  schedule: readonly number[],
  attemptsMade: number,
  answer: ReceiverAnswer,
  nowMs: number,
  random: () => number = Math.random,
): DeliveryNext {
  if (isSuccessStatus(answer.statusCode))
    return answer.control === 'disable' ? { kind: 'succeeded_and_disable_endpoint' } : { kind: 'succeeded' };
  if (answer.statusCode === 410 || answer.control === 'disable')
    return { kind: 'failed_and_disable_endpoint' };
  if (answer.control === 'abort-message') return { kind: 'failed' };
  const decision = nextRetry(schedule, attemptsMade, answer.retryAfterSeconds, random);
  return decision.kind === 'retry' ? { kind: 'retry', at: nowMs + decision.delayMs } : { kind: 'failed' };
}
