import { Agent, type Dispatcher } from 'undici';
import { type Body, bodyOf, bodyText } from '../domain/body.js';
import { type Cidr, ipLiteralOf, isAddressAllowed } from '../domain/ssrf.js';
import { makeCachedResolve, type Resolve } from './cached-resolve.js';
import { makeGuardedLookup, RefusedAddressError, systemResolve } from './guarded-lookup.js';

export interface SenderOptions {
  /** CIDRs exempt from the SSRF guard. Default: none. */
  allowNetworks: readonly Cidr[];
  /** Longest a single attempt may take, from connect to the last body byte, in ms. */
  timeoutMs: number;
  /** How much of a response body is kept for the attempt log, in bytes. Default 64 KiB. */
  responseBodyLimit?: number;
  /** Socket pool size per origin. Default 64. */
  connectionsPerOrigin?: number;
  /**
   * DNS resolution asked on a cache miss; injectable so tests can aim names at any address without
   * dialing it. Default: the system's (`dns.lookup`).
   */
  resolve?: Resolve;
}

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: Body;
}

export interface SendResult {
  /** 0 when no HTTP response arrived. */
  statusCode: number;
  /** The response body (bounded; bytes when not UTF-8), or the reason no response arrived. */
  response: Body;
  durationMs: number;
  retryAfter: string | undefined;
  /** The `webhook-delivery` response header (Svix receiver control), as sent. */
  deliveryControl: string | undefined;
}

/**
 * The sender itself failed before an answer came (its thread died): whether the request left is
 * unknown, and nothing about the receiver was learnt, so it is not the receiver's failed attempt.
 */
export interface LostSend {
  lost: string;
}

/** A result without an answer: nothing came back from the receiver, for `reason`. */
export function noAnswer(reason: string, durationMs = 0): SendResult {
  return { statusCode: 0, response: reason, durationMs, retryAfter: undefined, deliveryControl: undefined };
}

/** `Result`: a sender that cannot lose a send (makeSender) says so with `Sender<SendResult>`. */
export interface Sender<Result extends SendResult | LostSend = SendResult | LostSend> {
  /** Resolves with the receiver's answer or the reason none came, or as lost (see LostSend). */
  send(req: SendRequest): Promise<Result>;
  /** Aborts whatever is still in flight and closes the pool. */
  close(): Promise<void>;
}

/** Where a URL's requests go, as the agent takes it (the URL parsed once, not per request). */
interface Target {
  origin: string;
  path: string;
}

/** The longest a DNS lookup may take (glibc's own per-try timeout is 5 s). */
const LOOKUP_TIMEOUT_MS = 5_000;

/** Distinct endpoint URLs remembered parsed; past this the memory starts over. */
const TARGET_CACHE_SIZE = 10_000;

/**
 * Makes one HTTP attempt through a pooled undici Agent's `dispatch`, the callback API its
 * `request` is built on: an answer is gathered straight from the parser's callbacks, without the
 * response stream, abort signal and async resource `request` makes per call (about a quarter of
 * what the sender thread allocated per delivery, measured in the drain's allocation profile).
 * Not fetch: several times slower here, and it follows redirects. Redirects are not followed: a
 * 3xx is a failed attempt, so a redirect can never lead to an address the guard would refuse.
 * Never throws.
 */
export function makeSender(options: SenderOptions): Sender<SendResult> {
  const bodyLimit = options.responseBodyLimit ?? 64 * 1024;
  const agent = new Agent({
    connections: options.connectionsPerOrigin ?? 64,
    connect: {
      lookup: makeGuardedLookup(
        options.allowNetworks,
        makeCachedResolve({
          resolve: options.resolve ?? systemResolve,
          // A lookup waits no longer than its attempt may: `net.connect` gives a lookup no abort
          // signal, so the attempt's deadline is how its end reaches the queue.
          timeoutMs: Math.min(options.timeoutMs, LOOKUP_TIMEOUT_MS),
        }),
      ),
      timeout: options.timeoutMs,
    },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });

  /** Parsed and judged once per URL: endpoints are few, attempts many. */
  const targets = new Map<string, Target | RefusedAddressError>();
  function target(raw: string): Target | RefusedAddressError {
    let found = targets.get(raw);
    if (found === undefined) {
      const url = new URL(raw);
      // IP literals never reach the lookup, so they are judged here, before any socket exists.
      const literal = ipLiteralOf(url.hostname);
      found =
        literal !== null && !isAddressAllowed(literal, options.allowNetworks)
          ? new RefusedAddressError(url.hostname, literal)
          : { origin: url.origin, path: `${url.pathname}${url.search}` };
      if (targets.size >= TARGET_CACHE_SIZE) targets.clear();
      targets.set(raw, found);
    }
    return found;
  }

  function send(req: SendRequest): Promise<SendResult> {
    return new Promise((resolve) => {
      const answer = new Answer(bodyLimit, options.timeoutMs, resolve);
      try {
        const to = target(req.url);
        if (to instanceof RefusedAddressError) throw to;
        agent.dispatch(
          { origin: to.origin, path: to.path, method: 'POST', headers: req.headers, body: req.body },
          answer,
        );
      } catch (error) {
        answer.onResponseError(null, error as Error);
      }
    });
  }

  return { send, close: () => agent.destroy() };
}

const TIMED_OUT = 'timeout: no complete response in time';

/**
 * One attempt's answer, gathered from undici's dispatch callbacks and settled exactly once: at
 * the end of the body, at an error, at the body limit, or when the attempt's time is up (from
 * the moment it is sent, so time spent waiting for a pooled connection counts).
 */
class Answer implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | null = null;
  #settled = false;
  #statusCode = 0;
  #retryAfter: string | undefined;
  #deliveryControl: string | undefined;
  #chunks: Buffer[] = [];
  #size = 0;
  #pastLimit = false;
  readonly #started = performance.now();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly bodyLimit: number,
    timeoutMs: number,
    private readonly resolve: (result: SendResult) => void,
  ) {
    this.#timer = setTimeout(() => this.#timeOut(), timeoutMs);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // Timed out while waiting for a connection: settled already, so it is never sent.
    if (this.#settled) controller.abort(new Error(TIMED_OUT));
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx: informational, the answer is still to come
    this.#statusCode = statusCode;
    this.#retryAfter = firstHeader(headers['retry-after']);
    // Repeated header lines are one comma-separated list (RFC 9110 §5.3).
    this.#deliveryControl = joinedHeader(headers['webhook-delivery']);
  }

  /**
   * Keeps at most `bodyLimit` bytes and settles once it has them. A body that keeps coming after
   * that has its connection dropped rather than drained; one that ends within the chunk that
   * passed the limit (or exactly at it) ends normally and keeps its connection.
   */
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) {
      if (this.#pastLimit) controller.abort(new Error('response body limit reached'));
      return;
    }
    const room = this.bodyLimit - this.#size;
    if (chunk.length <= room) {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
      return;
    }
    this.#chunks.push(chunk.subarray(0, room));
    this.#size = this.bodyLimit;
    this.#pastLimit = true;
    this.#answered(this.#body());
  }

  onResponseEnd(): void {
    this.#answered(this.#body());
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    // The status line is the receiver's answer; a body that then fails to arrive does not undo it.
    if (this.#statusCode !== 0) this.#answered(`(response body not read: ${describeError(error)})`);
    else this.#settle(0, describeError(error));
  }

  #timeOut(): void {
    if (this.#settled) return;
    if (this.#statusCode !== 0) this.#answered(`(response body not read: ${TIMED_OUT})`);
    else this.#settle(0, TIMED_OUT);
    this.#controller?.abort(new Error(TIMED_OUT));
  }

  /** Text when the receiver answered UTF-8, else its bytes as they came (see Body). */
  #body(): Body {
    const chunks = this.#chunks;
    return bodyOf(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#size));
  }

  #answered(response: Body): void {
    this.#settle(this.#statusCode, response);
  }

  #settle(statusCode: number, response: Body): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    const durationMs = Math.round(performance.now() - this.#started);
    this.resolve(
      statusCode === 0
        ? noAnswer(bodyText(response), durationMs)
        : {
            statusCode,
            response,
            durationMs,
            retryAfter: this.#retryAfter,
            deliveryControl: this.#deliveryControl,
          },
    );
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function joinedHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    const cause = (error as { cause?: unknown }).cause;
    const base = code ? `${code}: ${error.message}` : error.message;
    return cause instanceof Error && cause.message !== error.message ? `${base} (${cause.message})` : base;
  }
  return String(error);
}
