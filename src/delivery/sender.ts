import { EventEmitter } from 'node:events';
import { Agent } from 'undici';
import { type Cidr, ipLiteralOf, isAddressAllowed } from '../domain/ssrf.js';
import { makeGuardedLookup, RefusedAddressError, type Resolve } from './guarded-lookup.js';

export interface SenderOptions {
  /** CIDRs exempt from the SSRF guard. Default: none. */
  allowNetworks: readonly Cidr[];
  /** Longest a single attempt may take, from connect to the last body byte, in ms. */
  timeoutMs: number;
  /** How much of a response body is kept for the attempt log, in bytes. Default 64 KiB. */
  responseBodyLimit?: number;
  /** Socket pool size per origin. Default 64. */
  connectionsPerOrigin?: number;
  /** DNS resolution; injectable so tests can aim names at any address without dialing it. */
  resolve?: Resolve;
}

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface SendResult {
  /** 0 when no HTTP response arrived. */
  statusCode: number;
  /** The response body (bounded), or the reason no response arrived. */
  response: string;
  durationMs: number;
  retryAfter: string | undefined;
  /** The `webhook-delivery` response header (Svix receiver control), as sent. */
  deliveryControl: string | undefined;
}

export interface Sender {
  send(req: SendRequest): Promise<SendResult>;
  /** Aborts whatever is still in flight and closes the pool. */
  close(): Promise<void>;
}

/** Where a URL's requests go, as the agent takes it (the URL parsed once, not per request). */
interface Target {
  origin: string;
  path: string;
}

/** Distinct endpoint URLs remembered parsed; past this the memory starts over. */
const TARGET_CACHE_SIZE = 10_000;

/**
 * Makes one HTTP attempt with the `request` of a pooled undici Agent (not fetch: several times
 * slower here, and it follows redirects). Redirects are not followed: a 3xx is a failed attempt,
 * so a redirect can never lead to an address the guard would refuse. Never throws.
 */
export function makeSender(options: SenderOptions): Sender {
  const bodyLimit = options.responseBodyLimit ?? 64 * 1024;
  const agent = new Agent({
    connections: options.connectionsPerOrigin ?? 64,
    connect: {
      lookup: makeGuardedLookup(options.allowNetworks, options.resolve),
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

  async function send(req: SendRequest): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    // undici accepts an EventEmitter as its abort signal: one plain timer per attempt costs
    // far less than AbortSignal.timeout (measured in the drain profile).
    const deadline = new EventEmitter();
    const timer = setTimeout(() => deadline.emit('abort'), options.timeoutMs);
    try {
      const to = target(req.url);
      if (to instanceof RefusedAddressError) throw to;
      const res = await agent.request({
        origin: to.origin,
        path: to.path,
        method: 'POST',
        headers: req.headers,
        body: req.body,
        signal: deadline,
      });
      // The status line is the receiver's answer; a body that then fails to arrive does not undo it.
      const response = await readBounded(res.body, res.headers['content-length'], bodyLimit).catch(
        (error: unknown) => `(response body not read: ${describeError(error)})`,
      );
      return {
        statusCode: res.statusCode,
        response,
        durationMs: elapsed(),
        retryAfter: firstHeader(res.headers['retry-after']),
        // Repeated header lines are one comma-separated list (RFC 9110 §5.3).
        deliveryControl: joinedHeader(res.headers['webhook-delivery']),
      };
    } catch (error) {
      return {
        statusCode: 0,
        response: describeError(error),
        durationMs: elapsed(),
        retryAfter: undefined,
        deliveryControl: undefined,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  return { send, close: () => agent.destroy() };
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function joinedHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Reads at most `limit` bytes of a body and drops the rest without buffering it. */
async function readBounded(
  body: AsyncIterable<Buffer> & { destroy(): void; text(): Promise<string> },
  contentLength: string | string[] | undefined,
  limit: number,
): Promise<string> {
  // The common case, a small body of announced length, is read in one go.
  if (typeof contentLength === 'string' && Number(contentLength) <= limit) return body.text();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const room = limit - size;
    chunks.push(room < chunk.length ? chunk.subarray(0, room) : chunk);
    size += Math.min(room, chunk.length);
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    const cause = (error as { cause?: unknown }).cause;
    if (error.name === 'TimeoutError' || error.name === 'AbortError')
      return 'timeout: no complete response in time';
    const base = code ? `${code}: ${error.message}` : error.message;
    return cause instanceof Error && cause.message !== error.message ? `${base} (${cause.message})` : base;
  }
  return String(error);
}
