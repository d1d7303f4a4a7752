import { parseSecret, verify } from '../../domain/signing.js';
import { fail, jsonField, OK, type Provider } from '../request.js';

const REASONS = {
  missing_headers: 'missing webhook-id, webhook-timestamp or webhook-signature header',
  invalid_timestamp: 'malformed timestamp',
  timestamp_too_old: 'timestamp too old',
  timestamp_too_new: 'timestamp in the future',
  no_matching_signature: 'no matching signature',
} as const;

/**
 * Any Standard Webhooks sender (Svix and the providers built on it: Clerk, Resend, Brex, …).
 * Accepts the `webhook-*` headers and Svix's older `svix-*` names for the same values.
 */
export const standardWebhooks: Provider = {
  verify(req, config, now) {
    const secret = config.secret ? parseSecret(config.secret) : null;
    if (!secret) return fail('source has no valid whsec_ signing secret');
    const h = req.headers;
    const failure = verify(
      secret,
      {
        'webhook-id': h['webhook-id'] ?? h['svix-id'],
        'webhook-timestamp': h['webhook-timestamp'] ?? h['svix-timestamp'],
        'webhook-signature': h['webhook-signature'] ?? h['svix-signature'],
      },
      // The bytes, as signed: the text differs from them when they are not UTF-8.
      req.body,
      now,
    );
    return failure === null ? OK : fail(REASONS[failure]);
  },
  eventType: (req) => jsonField(req.json, 'type') ?? jsonField(req.json, 'eventType'),
  dedupeKey: (req) => req.headers['webhook-id'] ?? req.headers['svix-id'] ?? null,
  // The event is named in the body; the webhook-* headers are replaced by Hookgate's own.
  forwardedHeaders: [],
};
