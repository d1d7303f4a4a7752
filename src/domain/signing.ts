import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Body } from './body.js';
import type { EndpointSecret } from './model.js';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, spec v1.0.0):
 * the signed content is `${webhook-id}.${webhook-timestamp}.${body}`, signed with HMAC-SHA256
 * under the base64-decoded secret, sent as `v1,<base64>`; several signatures are space-separated.
 */
export const SECRET_PREFIX = 'whsec_';
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
/** Spec: receivers reject timestamps more than five minutes away from their clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decodes a `whsec_`-prefixed (or bare) base64 secret; null when it is not one of 24–64 bytes. */
export function parseSecret(secret: string): Buffer | null {
  const body = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!BASE64.test(body) || body.length % 4 !== 0) return null;
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length < MIN_SECRET_BYTES || bytes.length > MAX_SECRET_BYTES) return null;
  return bytes;
}

/** Normalises an accepted secret to its canonical `whsec_` form. */
export function canonicalSecret(secret: string): string | null {
  const bytes = parseSecret(secret);
  return bytes ? SECRET_PREFIX + bytes.toString('base64') : null;
}

export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** Rotated-out secrets that keep co-signing during their grace period, at most: each adds a
 * signature to every request. */
export const MAX_COSIGNING_SECRETS = 5;

/**
 * The secrets after rotating to `key`: it becomes current, the replaced one co-signs until
 * `graceUntil`, older ones keep their own expiry, and expired ones drop out.
 */
export function rotatedSecrets(
  secrets: readonly EndpointSecret[],
  key: string,
  graceUntil: number,
  now: number,
): EndpointSecret[] {
  const [current, ...older] = secrets;
  return [
    { key, expiresAt: null },
    ...(current ? [{ key: current.key, expiresAt: graceUntil }] : []),
    ...older,
  ]
    .filter((s) => s.expiresAt === null || s.expiresAt > now)
    .slice(0, 1 + MAX_COSIGNING_SECRETS);
}

/** The body is signed as the bytes sent: text as UTF-8, bytes as they are. */
export function sign(secret: Buffer, msgId: string, timestampSeconds: number, body: Body): string {
  const hmac = createHmac('sha256', secret);
  if (typeof body === 'string') return hmac.update(`${msgId}.${timestampSeconds}.${body}`).digest('base64');
  return hmac.update(`${msgId}.${timestampSeconds}.`).update(body).digest('base64');
}

/** The `webhook-signature` header value: one `v1,` entry per secret that is still valid. */
export function signatureHeader(
  secrets: readonly Buffer[],
  msgId: string,
  timestampSeconds: number,
  body: Body,
): string {
  return secrets.map((s) => `v1,${sign(s, msgId, timestampSeconds, body)}`).join(' ');
}

export type VerifyFailure =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'no_matching_signature';

export interface WebhookHeaders {
  'webhook-id'?: string | undefined;
  'webhook-timestamp'?: string | undefined;
  'webhook-signature'?: string | undefined;
}

/** Verifies a Standard Webhooks request; returns null when valid, else why it is not. */
export function verify(
  secret: Buffer,
  headers: WebhookHeaders,
  body: Body,
  nowSeconds: number = Math.floor(Date.now() / 1000),
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): VerifyFailure | null {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sigs = headers['webhook-signature'];
  if (!id || !ts || !sigs) return 'missing_headers';
  if (!/^\d+$/.test(ts)) return 'invalid_timestamp';
  const timestamp = Number(ts);
  if (nowSeconds - timestamp > toleranceSeconds) return 'timestamp_too_old';
  if (timestamp - nowSeconds > toleranceSeconds) return 'timestamp_too_new';
  const expected = Buffer.from(sign(secret, id, timestamp, body));
  for (const entry of sigs.split(' ')) {
    const [version, signature] = entry.split(',', 2);
    if (version !== 'v1' || !signature) continue;
    const candidate = Buffer.from(signature);
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return null;
  }
  return 'no_matching_signature';
}
