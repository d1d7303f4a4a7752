import { createHmac } from 'node:crypto';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { PROVIDERS, sourceConfigProblem } from '../../src/inbound/providers/index.js';
import { eventTypeName } from '../../src/inbound/receive.js';
import type { InboundRequest, SourceConfig } from '../../src/inbound/request.js';

/**
 * Each provider's verifier against signatures made by that provider's own library or its
 * documented format, never by our code: accepted when right; rejected when the body is changed
 * by one byte, when signed with another secret, and (where the provider signs a time) when old.
 */
const now = Math.floor(Date.now() / 1000);

function request(headers: Record<string, string>, body: string): InboundRequest {
  let json: unknown = null;
  try {
    json = JSON.parse(body);
  } catch {}
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { headers: lower, body: Buffer.from(body), text: body, json };
}

/** The same request with its body's last byte changed. */
function tampered(req: InboundRequest): InboundRequest {
  const text = `${req.text.slice(0, -1)}${req.text.endsWith('}') ? ' ' : '}'}`;
  return { ...req, body: Buffer.from(text), text };
}

function verify(type: string, req: InboundRequest, config: SourceConfig, at = now) {
  return PROVIDERS[type]!.verify(req, config, at);
}

describe('stripe', () => {
  const secret = 'whsec_test_stripe_secret_123';
  const body = JSON.stringify({ id: 'evt_1', object: 'event', type: 'invoice.paid', data: { object: {} } });
  const signed = (s: string, timestamp = now) =>
    request(
      {
        'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret: s, timestamp }),
      },
      body,
    );

  it('accepts a signature made by stripe-node and names the event from its type and id', () => {
    const req = signed(secret);
    expect(verify('stripe', req, { secret })).toEqual({ ok: true });
    expect(PROVIDERS.stripe!.eventType(req)).toBe('invoice.paid');
    expect(PROVIDERS.stripe!.dedupeKey(req)).toBe('evt_1');
  });
  it('rejects a body changed by one byte, another secret, and a timestamp outside 5 minutes', () => {
    expect(verify('stripe', tampered(signed(secret)), { secret }).ok).toBe(false);
    expect(verify('stripe', signed('whsec_another_secret'), { secret }).ok).toBe(false);
    expect(verify('stripe', signed(secret, now - 301), { secret })).toMatchObject({
      ok: false,
      reason: /too old/,
    });
    expect(verify('stripe', signed(secret, now + 301), { secret }).ok).toBe(false);
    expect(verify('stripe', request({}, body), { secret }).ok).toBe(false);
  });
});

describe('github', () => {
  const secret = 'gh-secret';
  const body = JSON.stringify({ action: 'opened', issue: { number: 1 } });
  const signed = async (s: string) =>
    request(
      {
        'X-Hub-Signature-256': await githubSign(s, body),
        'X-GitHub-Event': 'issues',
        'X-GitHub-Delivery': 'd-1',
      },
      body,
    );

  it('accepts a signature made by @octokit/webhooks-methods; event is X-GitHub-Event plus action', async () => {
    const req = await signed(secret);
    expect(verify('github', req, { secret })).toEqual({ ok: true });
    expect(PROVIDERS.github!.eventType(req)).toBe('issues.opened');
    expect(PROVIDERS.github!.dedupeKey(req)).toBe('d-1');
  });
  it('rejects a body changed by one byte and another secret', async () => {
    expect(verify('github', tampered(await signed(secret)), { secret }).ok).toBe(false);
    expect(verify('github', await signed('other'), { secret }).ok).toBe(false);
    expect(verify('github', request({ 'X-GitHub-Event': 'push' }, body), { secret }).ok).toBe(false);
  });
});

describe('shopify', () => {
  const secret = 'shpss_secret';
  const body = JSON.stringify({ id: 820982911946154500, email: 'jon@example.com' });
  // Shopify's documented format: base64 of HMAC-SHA256 over the raw body.
  const signed = (s: string) =>
    request(
      {
        'X-Shopify-Hmac-Sha256': createHmac('sha256', s).update(body).digest('base64'),
        'X-Shopify-Topic': 'orders/create',
        'X-Shopify-Webhook-Id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      },
      body,
    );

  it('accepts the base64 HMAC of the raw body; orders/create becomes orders.create', () => {
    const req = signed(secret);
    expect(verify('shopify', req, { secret })).toEqual({ ok: true });
    expect(eventTypeName(PROVIDERS.shopify!.eventType(req))).toBe('orders.create');
    expect(PROVIDERS.shopify!.dedupeKey(req)).toBe('b54557e4-bdd9-4b37-8a5f-bf7d70bcd043');
  });
  it('rejects a body changed by one byte and another secret', () => {
    expect(verify('shopify', tampered(signed(secret)), { secret }).ok).toBe(false);
    expect(verify('shopify', signed('other'), { secret }).ok).toBe(false);
  });
});

describe('slack', () => {
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  // Slack's documented scheme: v0= hex HMAC-SHA256 of "v0:{timestamp}:{body}".
  const signed = (s: string, body: string, timestamp = now) =>
    request(
      {
        'X-Slack-Request-Timestamp': String(timestamp),
        'X-Slack-Signature': `v0=${createHmac('sha256', s).update(`v0:${timestamp}:${body}`).digest('hex')}`,
        'Content-Type': body.startsWith('{') ? 'application/json' : 'application/x-www-form-urlencoded',
      },
      body,
    );
  const eventBody = JSON.stringify({
    type: 'event_callback',
    event_id: 'Ev1',
    event: { type: 'app_mention' },
  });
  const formBody =
    'token=x&team_id=T1&command=%2Fweather&text=94070&response_url=https%3A%2F%2Fhooks.slack.com%2Fx';

  it('accepts Events API JSON and slash-command form bodies signed the v0 way', () => {
    const event = signed(secret, eventBody);
    expect(verify('slack', event, { secret })).toEqual({ ok: true });
    expect(PROVIDERS.slack!.eventType(event)).toBe('app_mention');
    expect(PROVIDERS.slack!.dedupeKey(event)).toBe('Ev1');
    const form = { ...signed(secret, formBody), json: null };
    expect(verify('slack', form, { secret })).toEqual({ ok: true });
    expect(PROVIDERS.slack!.eventType(form)).toBe('slash_command');
  });
  it('answers the url_verification challenge', () => {
    const req = signed(secret, JSON.stringify({ type: 'url_verification', challenge: 'abc123' }));
    expect(PROVIDERS.slack!.handshake!(req)).toEqual({
      body: '{"challenge":"abc123"}',
      contentType: 'application/json',
    });
  });
  it('rejects a body changed by one byte, another secret, and a timestamp outside 5 minutes', () => {
    expect(verify('slack', tampered(signed(secret, eventBody)), { secret }).ok).toBe(false);
    expect(verify('slack', signed('other', eventBody), { secret }).ok).toBe(false);
    expect(verify('slack', signed(secret, eventBody, now - 301), { secret }).ok).toBe(false);
  });
});

describe('standard webhooks (svix, clerk, resend, …)', () => {
  const secret = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;
  const body = JSON.stringify({ type: 'user.created', data: { id: 'u1' } });
  const signed = (s: string, at = new Date(now * 1000)) => {
    const signature = new Webhook(s).sign('msg_abc', at, body);
    return request(
      {
        'webhook-id': 'msg_abc',
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signature,
      },
      body,
    );
  };

  it('accepts a signature made by the standardwebhooks library, also under svix-* header names', () => {
    const req = signed(secret);
    expect(verify('svix', req, { secret })).toEqual({ ok: true });
    expect(verify('clerk', req, { secret })).toEqual({ ok: true });
    expect(PROVIDERS.svix!.eventType(req)).toBe('user.created');
    expect(PROVIDERS.svix!.dedupeKey(req)).toBe('msg_abc');
    const svixNamed = request(
      {
        'svix-id': req.headers['webhook-id']!,
        'svix-timestamp': req.headers['webhook-timestamp']!,
        'svix-signature': req.headers['webhook-signature']!,
      },
      body,
    );
    expect(verify('resend', svixNamed, { secret })).toEqual({ ok: true });
  });
  it('rejects a body changed by one byte, another secret, and a timestamp outside 5 minutes', () => {
    expect(verify('svix', tampered(signed(secret)), { secret }).ok).toBe(false);
    expect(verify('svix', signed(`whsec_${Buffer.alloc(24, 1).toString('base64')}`), { secret }).ok).toBe(
      false,
    );
    expect(verify('svix', signed(secret, new Date((now - 301) * 1000)), { secret }).ok).toBe(false);
  });
});

describe('generic-webhook', () => {
  const body = 'plain body';
  it('accepts anything without a secret', () => {
    expect(verify('generic-webhook', request({}, body), {})).toEqual({ ok: true });
  });
  it('checks an HMAC-SHA256 in the configured header, prefix and encoding', () => {
    const config: SourceConfig = {
      secret: 's3cret',
      signatureHeader: 'X-Acme-Signature',
      signaturePrefix: 'sha256=',
      signatureEncoding: 'base64',
    };
    const mac = createHmac('sha256', 's3cret').update(body).digest('base64');
    expect(verify('generic-webhook', request({ 'X-Acme-Signature': `sha256=${mac}` }, body), config)).toEqual(
      { ok: true },
    );
    expect(verify('generic-webhook', request({ 'X-Acme-Signature': mac }, body), config).ok).toBe(false);
    expect(
      verify('generic-webhook', request({ 'X-Acme-Signature': `sha256=${mac}` }, `${body}!`), config).ok,
    ).toBe(false);
    const hex = createHmac('sha256', 's3cret').update(body).digest('hex');
    expect(verify('generic-webhook', request({ 'x-signature': hex }, body), { secret: 's3cret' })).toEqual({
      ok: true,
    });
  });
});

describe('source configuration', () => {
  it('needs a secret for providers that always sign, and a whsec_ key for Standard Webhooks', () => {
    expect(sourceConfigProblem('stripe', {})).toBe('missing_source_secret');
    expect(sourceConfigProblem('github', {})).toBeNull();
    expect(sourceConfigProblem('svix', { secret: 'not-base64!' })).toBe('invalid_secret');
    expect(sourceConfigProblem('cron', { secret: 'x' })).toBe('unsupported_source_type');
  });
  it('makes provider event names into event types', () => {
    expect(eventTypeName('orders/create')).toBe('orders.create');
    expect(eventTypeName(null)).toBe('unknown');
    expect(eventTypeName('a b')).toBe('a.b');
  });
});
