import { jsonDepthExceeds } from '../../domain/json-depth.js';
import { fail, hmac, jsonField, macMatches, OK, type Provider, timestampFresh } from '../request.js';

/** Slack rejects requests older than five minutes in its own verification guide. */
const TOLERANCE_SECONDS = 300;

/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:${timestamp}:${body}">` keyed with the
 * signing secret, timestamp in `X-Slack-Request-Timestamp`
 * (https://api.slack.com/authentication/verifying-requests-from-slack). Bodies are JSON (Events
 * API) or form-encoded (slash commands, interactivity).
 */
export const slack: Provider = {
  verify(req, config, now) {
    if (!config.secret) return fail('source has no signing secret');
    const timestamp = req.headers['x-slack-request-timestamp'];
    const fresh = timestampFresh(timestamp, now, TOLERANCE_SECONDS);
    if (!fresh.ok) return fresh;
    const header = req.headers['x-slack-signature'];
    if (!header?.startsWith('v0=')) return fail('missing X-Slack-Signature header');
    const expected = hmac(
      'sha256',
      config.secret,
      Buffer.concat([Buffer.from(`v0:${timestamp}:`), req.body]),
    );
    return macMatches(expected, header.slice(3), 'hex') ? OK : fail('no matching signature');
  },
  eventType(req) {
    if (req.json !== null) {
      return jsonField(req.json, 'event', 'type') ?? jsonField(req.json, 'type');
    }
    const form = new URLSearchParams(req.text);
    if (form.has('command')) return 'slash_command';
    const payload = form.get('payload');
    if (payload && !jsonDepthExceeds(payload)) {
      try {
        return jsonField(JSON.parse(payload), 'type');
      } catch {
        return null;
      }
    }
    return null;
  },
  dedupeKey: (req) => jsonField(req.json, 'event_id'),
  // The event is named in the body; Slack's retry headers tell a receiver this is a repeat
  // (https://api.slack.com/apis/events-api#retries). Its timestamp and signature stay behind.
  forwardedHeaders: ['x-slack-retry-num', 'x-slack-retry-reason'],
  // Slack checks a new Events API URL by posting a challenge it expects echoed back.
  handshake(req) {
    if (jsonField(req.json, 'type') !== 'url_verification') return null;
    const challenge = jsonField(req.json, 'challenge');
    return challenge ? { body: JSON.stringify({ challenge }), contentType: 'application/json' } : null;
  },
};
