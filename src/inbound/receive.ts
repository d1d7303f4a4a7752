import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { type Body, bodyOf } from '../domain/body.js';
import { checkCustomHeaders, isSensitiveHeader } from '../domain/headers.js';
import { jsonDepthExceeds } from '../domain/json-depth.js';
import type { InboundRecord } from '../domain/model.js';
import type { InboundInput, Store } from '../store/store.js';
import { PROVIDERS } from './providers/index.js';
import type { InboundRequest, SourceConfig } from './request.js';

/** How long a provider's delivery id is remembered by default: 7 days (providers retry for ~3). */
export const DEFAULT_DEDUPE_WINDOW_SECONDS = 7 * 24 * 3600;
/** How much of a request body the request log keeps (the message keeps all of it). */
const LOGGED_BODY_LIMIT = 64 * 1024;

export interface InboundResponse {
  statusCode: number;
  contentType: string;
  body: string;
}

export interface InboundReceiverOptions {
  store: Store;
  /** Tells the dispatcher new deliveries are due. */
  wake: () => void;
  now?: () => number;
}

const json = (statusCode: number, body: unknown): InboundResponse => ({
  statusCode,
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify(body),
});

const NOT_FOUND = json(404, { code: 'not_found', detail: 'The requested resource was not found.' });

/**
 * The front door for provider webhooks: verify the request the provider's way, commit it
 * (message and deliveries in one durable commit), then answer 2xx. Every request that reaches a
 * real source is recorded (accepted, rejected or duplicate); nothing unverified is forwarded.
 */
export function makeInboundReceiver({ store, wake, now = Date.now }: InboundReceiverOptions) {
  return async function receive(
    sourceId: string,
    token: string,
    rawHeaders: IncomingHttpHeaders,
    body: Buffer,
  ): Promise<InboundResponse> {
    const source = await store.getSource(sourceId);
    if (!source || source.id !== sourceId || !sameToken(source.token, token)) return NOT_FOUND;
    const provider = PROVIDERS[source.type];
    if (!provider) return NOT_FOUND;
    const config = source.config as SourceConfig;
    const at = now();
    const headers = flattenHeaders(rawHeaders);
    const logged = { headers: loggableHeaders(headers), body: truncate(body, LOGGED_BODY_LIMIT) };

    // The body travels as the bytes the provider sent, whatever they are (a NUL, bytes that are
    // not UTF-8): they are what it signed. The text is for reading JSON or form fields only.
    const text = body.toString('utf8');
    const req: InboundRequest = { headers, body, text, json: parseJson(headers['content-type'], text) };

    const verdict = provider.verify(req, config, Math.floor(at / 1000));
    if (!verdict.ok) {
      const record = await store.recordInbound(
        source,
        { ...logged, eventType: null, outcome: 'rejected', statusCode: 401, reason: verdict.reason },
        at,
      );
      // The reason stays in the request log: a forger learns nothing from the answer.
      return json(401, {
        code: 'invalid_signature',
        detail: 'The request signature could not be verified.',
        id: record.id,
      });
    }

    const handshake = provider.handshake?.(req);
    if (handshake) return { statusCode: 200, ...handshake };

    const eventType = eventTypeName(provider.eventType(req));
    const windowSeconds = config.dedupeWindowSeconds ?? DEFAULT_DEDUPE_WINDOW_SECONDS;
    const input: InboundInput = {
      ...logged,
      eventType,
      outcome: 'accepted',
      dedupeKey: provider.dedupeKey(req)?.slice(0, 256) ?? null,
      dedupeSince: at - windowSeconds * 1000,
      publish: {
        eventType,
        eventId: null,
        payload: bodyOf(body),
        contentType: headers['content-type'] ?? 'application/octet-stream',
        headers: passthrough(headers, [...provider.forwardedHeaders, ...(config.passthroughHeaders ?? [])]),
        channels: null,
      },
    };
    const record: InboundRecord = await store.recordInbound(source, input, at);
    if (record.status === 'accepted') wake();
    // A duplicate is answered 2xx too, so the provider stops retrying it.
    return json(200, { id: record.id, status: record.status, msgId: record.msgId });
  };
}

function sameToken(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function flattenHeaders(raw: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Headers worth keeping in the request log: everything but credentials. */
function loggableHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !isSensitiveHeader(name)));
}

/**
 * A provider's signature header (`X-Hub-Signature-256`, `Stripe-Signature`,
 * `X-Shopify-Hmac-Sha256`): it signs the provider's request, which the forwarded one is not, and
 * receivers must verify Hookgate's signature instead.
 */
const PROVIDER_SIGNATURE = /signature|hmac/i;

/** The selected provider headers that may travel on: never hop-by-hop, framing, signing or auth headers. */
function passthrough(
  headers: Record<string, string>,
  selected: readonly string[],
): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const name of selected) {
    const lower = name.toLowerCase();
    const value = headers[lower];
    if (value === undefined || isSensitiveHeader(lower) || PROVIDER_SIGNATURE.test(lower)) continue;
    if (checkCustomHeaders({ [lower]: value }) !== null) continue;
    out[lower] = value;
  }
  return Object.keys(out).length ? out : null;
}

/**
 * The body as JSON for providers to read their event type and id from; null when it is not JSON,
 * or nests too deeply to look into (see MAX_JSON_DEPTH): such a body is still accepted and
 * forwarded byte for byte, only named from headers (or `unknown`), as any non-JSON body is.
 */
function parseJson(contentType: string | undefined, text: string): unknown {
  if (contentType && !/json/i.test(contentType)) return null;
  if (jsonDepthExceeds(text)) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Provider event names made into Hookgate event types: `orders/create` → `orders.create`. */
export function eventTypeName(raw: string | null): string {
  const cleaned = (raw ?? '').replace(/[^a-zA-Z0-9\-_.]+/g, '.').slice(0, 256);
  return cleaned === '' ? 'unknown' : cleaned;
}

function truncate(body: Buffer, limit: number): Body {
  return bodyOf(body.subarray(0, limit));
}
