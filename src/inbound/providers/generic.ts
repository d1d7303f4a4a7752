import { fail, hmac, jsonField, macMatches, OK, type Provider } from '../request.js';

/**
 * Any other sender. Without a secret every request is accepted; with one, the configured header
 * must carry `prefix + encode(HMAC-SHA256(body))` (hex by default). The event type comes from
 * an `x-event-type` header or the body's `type` field; the dedupe key from `idempotency-key`,
 * `x-request-id` or `webhook-id` when the sender sets one.
 */
export const generic: Provider = {
  verify(req, config) {
    if (!config.secret) return OK;
    const headerName = (config.signatureHeader ?? 'x-signature').toLowerCase();
    const prefix = config.signaturePrefix ?? '';
    const header = req.headers[headerName];
    if (!header?.startsWith(prefix)) return fail(`missing ${headerName} header`);
    const expected = hmac('sha256', config.secret, req.body);
    return macMatches(expected, header.slice(prefix.length), config.signatureEncoding ?? 'hex')
      ? OK
      : fail('no matching signature');
  },
  eventType: (req) => req.headers['x-event-type'] ?? jsonField(req.json, 'type'),
  dedupeKey: (req) =>
    req.headers['idempotency-key'] ?? req.headers['x-request-id'] ?? req.headers['webhook-id'] ?? null,
  // The one header this provider names events by; anything else is the sender's own, so a source
  // asks for it in `config.passthroughHeaders`.
  forwardedHeaders: ['x-event-type'],
};
