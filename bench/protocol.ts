/** Messages exchanged over IPC between the bench runner and its child processes. */

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export type ReceiverCommand =
  /** Forget everything counted so far; announce `reached` once `target` distinct deliveries arrived. */
  | { cmd: 'reset'; target: number; recordLatency: boolean; marks: number[] }
  /** Answer every held request with 200 and stop holding. */
  | { cmd: 'release' }
  | { cmd: 'stats' };

export interface ReceiverStats {
  /** Requests answered on /ok since the last reset. */
  requests: number;
  /** Distinct (path, webhook-id) pairs seen on /ok since the last reset. */
  distinct: number;
  /** Requests on /ok whose (path, webhook-id) had been seen before. */
  duplicates: number;
  /** Requests on /hold waiting for `release`. */
  held: number;
  /** Requests on /hang still open. */
  hanging: number;
  /** Publish-to-arrival in ms of each distinct delivery whose payload carried `t` (when recording). */
  latencies: number[];
}

export type ReceiverEvent =
  | { type: 'ready'; port: number }
  | { type: 'reached'; at: number; distinct: number }
  /** The distinct count passed one of the `marks` given at reset (announced in ascending order). */
  | { type: 'mark'; at: number; count: number }
  | { type: 'released'; at: number; held: number }
  | { type: 'stats'; stats: ReceiverStats };

export interface PublishTarget {
  /** Hookgate base URL, e.g. http://127.0.0.1:41234 */
  base: string;
  token: string;
  /** Messages go round-robin to these applications. */
  apps: string[];
  /** Approximate payload size in bytes. */
  payloadBytes: number;
  /**
   * Post to an inbound source instead (a `generic-webhook` source: HMAC-SHA256 hex of the body
   * in `x-signature`, a unique `x-request-id` per request). `apps` is then ignored.
   */
  inbound?: { url: string; secret: string; runId: string };
}

export type LoadCommand =
  /** Closed loop: `concurrency` workers POST to `url` back to back for `durationMs`. */
  | { cmd: 'raw'; url: string; concurrency: number; durationMs: number; warmupMs: number; body: string }
  /** Closed loop: publish `count` messages with `concurrency` requests in flight. */
  | { cmd: 'publish'; target: PublishTarget; count: number; concurrency: number; deadlineMs: number }
  /**
   * Open loop: publish at `rate` messages/s for `warmupMs + durationMs`, whatever the responses
   * do; only requests scheduled after the warm-up are measured.
   */
  | {
      cmd: 'paced';
      target: PublishTarget;
      rate: number;
      warmupMs: number;
      durationMs: number;
      maxOutstanding: number;
    };

export interface RawResult {
  kind: 'raw';
  /** Completed requests per second after the warm-up. */
  rate: number;
  completed: number;
  /** Requests sent in all, warm-up included. */
  sent: number;
  errors: number;
}

export interface PublishResult {
  kind: 'publish';
  /** Wall-clock time the first request was sent. */
  startedAt: number;
  /** Wall-clock time the last response arrived. */
  finishedAt: number;
  accepted: number;
  errors: number;
  firstError: string | null;
}

export interface PacedResult {
  kind: 'paced';
  /** Scheduled time of the first measured request (the end of the warm-up). */
  startedAt: number;
  finishedAt: number;
  /** Requests sent in all, warm-up included: what the receiver should see delivered. */
  sent: number;
  /** Measured requests (after the warm-up); accepted, errors and skipped count only these. */
  offered: number;
  accepted: number;
  errors: number;
  /** Requests not sent because `maxOutstanding` were already in flight. */
  skipped: number;
  /** Scheduled send time to response, ms (open-loop latency: generator lag counts against the server). */
  latencies: number[];
  firstError: string | null;
}

export type LoadResult = RawResult | PublishResult | PacedResult;

export type LoadEvent =
  | { type: 'ready' }
  | { type: 'done'; result: LoadResult; error?: undefined }
  | { type: 'done'; result?: undefined; error: string };

/** The JSON body of a published message: `t` is its send time, for publish-to-attempt latency. */
export function messageBody(i: number, payloadBytes: number, t: number): string {
  return `{"eventType":"bench.event","payload":${payloadJson(i, payloadBytes, t)}}`;
}

/** The event itself (what receivers get), about `payloadBytes` long. */
export function payloadJson(i: number, payloadBytes: number, t: number): string {
  const pad = 'x'.repeat(Math.max(0, payloadBytes - 60));
  return `{"type":"bench.event","t":${t},"i":${i},"pad":"${pad}"}`;
}
