import { fail, hmac, jsonField, macMatches, OK, type Provider } from '../request.js';

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` keyed with the webhook
 * secret as text (https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries).
 * GitHub signs no timestamp; its retries are recognised by `X-GitHub-Delivery`.
 */
export const github: Provider = {
  verify(req, config) {
    // Svix's GithubConfig allows no secret: such a source accepts unsigned deliveries.
    if (!config.secret) return OK;
    const header = req.headers['x-hub-signature-256'];
    if (!header?.startsWith('sha256=')) return fail('missing X-Hub-Signature-256 header');
    const expected = hmac('sha256', config.secret, req.body);
    return macMatches(expected, header.slice('sha256='.length), 'hex') ? OK : fail('no matching signature');
  },
  eventType(req) {
    const event = req.headers['x-github-event'];
    if (!event) return null;
    const action = jsonField(req.json, 'action');
    return action ? `${event}.${action}` : event;
  },
  dedupeKey: (req) => req.headers['x-github-delivery'] ?? null,
  // https://docs.github.com/webhooks/webhook-events-and-payloads#delivery-headers
  forwardedHeaders: [
    'x-github-event',
    'x-github-delivery',
    'x-github-hook-id',
    'x-github-hook-installation-target-id',
    'x-github-hook-installation-target-type',
  ],
};
