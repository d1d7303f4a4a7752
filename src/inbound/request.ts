import { createHmac, timingSafeEqual } from 'node:crypto';

/** A provider's request as received: lower-cased headers and the exact body bytes. */
export interface InboundRequest {
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
  /** The body decoded as UTF-8, U+FFFD in place of invalid sequences: verify and forward `body`, never this. */
  text: string;
  /** The body parsed as JSON when it is JSON, else null. */
  json: unknown;
}

export type Verification = { ok: true } | { ok: false; reason: string };

/** Source configuration shared by every provider; each reads the fields it needs. */
export interface SourceConfig {
  /** The provider's signing secret. */
  secret?: string | null;
  /** generic-webhook only: the header carrying the HMAC-SHA256 signature. Default `x-signature`. */
  signatureHeader?: string;
  /** generic-webhook only: text before the signature in the header, e.g. `sha256=`. Default none. */
  signaturePrefix?: string;
  /** generic-webhook only: how the signature is encoded. Default hex. */
  signatureEncoding?: 'hex' | 'base64';
  /**
   * Further provider request headers copied onto the forwarded request, beside the provider's own
   * `forwardedHeaders` (never hop-by-hop or auth headers).
   */
  passthroughHeaders?: string[];
  /** How long a provider's delivery id is remembered to drop its retries, in seconds. Default 7 days. */
  dedupeWindowSeconds?: number;
}

/** What one provider needs: how to verify it, name its events and recognise its retries. */
export interface Provider {
  verify(req: InboundRequest, config: SourceConfig, nowSeconds: number): Verification;
  /** The event type endpoints filter on, before sanitising. */
  eventType(req: InboundRequest): string | null;
  /** The provider's own delivery id, stable across its retries; null when it has none. */
  dedupeKey(req: InboundRequest): string | null;
  /**
   * Request headers forwarded to the source's endpoints without being asked for (beside
   * `config.passthroughHeaders`): the provider's event type and delivery id, which receivers
   * written for the provider branch on. Never a credential or a signature: the forwarded request
   * is re-signed by Hookgate, and the provider's signature would verify nothing there.
   */
  readonly forwardedHeaders: readonly string[];
  /** A handshake answered directly instead of forwarded (Slack's url_verification). */
  handshake?(req: InboundRequest): { body: string; contentType: string } | null;
}

export const OK: Verification = { ok: true };
export const fail = (reason: string): Verification => ({ ok: false, reason });

export function hmac(algorithm: 'sha256', key: string | Buffer, data: string | Buffer): Buffer {
  return createHmac(algorithm, key).update(data).digest();
}

/** Constant-time comparison of a computed MAC with the text a request carried. */
export function macMatches(expected: Buffer, given: string, encoding: 'hex' | 'base64'): boolean {
  const decoded = Buffer.from(given, encoding);
  // Buffer.from silently drops invalid characters: require the round trip to be exact.
  if (decoded.length !== expected.length || decoded.toString(encoding) !== given) return false;
  return timingSafeEqual(decoded, expected);
}

/** A string field of a parsed JSON object body, if present. */
export function jsonField(json: unknown, ...path: string[]): string | null {
  let value: unknown = json;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return null;
    value = (value as Record<string, unknown>)[key];
  }
  return typeof value === 'string' && value !== '' ? value : null;
}

/** Within `tolerance` seconds of now, either way (replay protection). */
export function timestampFresh(
  timestamp: string | undefined,
  nowSeconds: number,
  tolerance: number,
): Verification {
  if (!timestamp || !/^\d+$/.test(timestamp)) return fail('missing or malformed timestamp');
  const age = nowSeconds - Number(timestamp);
  if (age > tolerance) return fail(`timestamp too old (${age} s)`);
  if (age < -tolerance) return fail(`timestamp in the future (${-age} s)`);
  return OK;
}
