import { fail, hmac, jsonField, macMatches, OK, type Provider, timestampFresh } from '../request.js';

/** Stripe's default tolerance (stripe-node `DEFAULT_TOLERANCE`): 300 seconds. */
const TOLERANCE_SECONDS = 300;

/**
 * Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, each v1 an HMAC-SHA256 of
 * `${t}.${body}` keyed with the endpoint secret as text (https://docs.stripe.com/webhooks#verify-manually).
 */
export const stripe: Provider = {
  verify(req, config, now) {
    if (!config.secret) return fail('source has no signing secret');
    const header = req.headers['stripe-signature'];
    if (!header) return fail('missing Stripe-Signature header');
    const parts = header.split(',').map((p) => p.split('=', 2) as [string, string | undefined]);
    const t = parts.find(([k]) => k === 't')?.[1];
    const fresh = timestampFresh(t, now, TOLERANCE_SECONDS);
    if (!fresh.ok) return fresh;
    const expected = hmac('sha256', config.secret, Buffer.concat([Buffer.from(`${t}.`), req.body]));
    const signatures = parts.filter(([k, v]) => k === 'v1' && v).map(([, v]) => v!);
    if (signatures.length === 0) return fail('no v1 signature');
    return signatures.some((s) => macMatches(expected, s, 'hex')) ? OK : fail('no matching signature');
  },
  eventType: (req) => jsonField(req.json, 'type'),
  dedupeKey: (req) => jsonField(req.json, 'id'),
  // Stripe names the event and its id in the body only; its one header is the signature.
  forwardedHeaders: [],
};
