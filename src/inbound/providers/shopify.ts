import { fail, hmac, macMatches, OK, type Provider } from '../request.js';

/**
 * Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>` keyed with the app's client
 * secret (https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook).
 * Topics such as `orders/create` become event types `orders.create`.
 */
export const shopify: Provider = {
  verify(req, config) {
    if (!config.secret) return fail('source has no signing secret');
    const header = req.headers['x-shopify-hmac-sha256'];
    if (!header) return fail('missing X-Shopify-Hmac-Sha256 header');
    return macMatches(hmac('sha256', config.secret, req.body), header, 'base64')
      ? OK
      : fail('no matching signature');
  },
  eventType: (req) => req.headers['x-shopify-topic'] ?? null,
  dedupeKey: (req) => req.headers['x-shopify-webhook-id'] ?? null,
  // https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook
  forwardedHeaders: [
    'x-shopify-topic',
    'x-shopify-webhook-id',
    'x-shopify-event-id',
    'x-shopify-shop-domain',
    'x-shopify-api-version',
    'x-shopify-triggered-at',
  ],
};
