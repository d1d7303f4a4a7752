/**
 * A receiver written for GitHub or Shopify branches on the provider's event header
 * (`X-GitHub-Event: push`): forwarded events carry each provider's event-type and delivery-id
 * headers without any configuration, never its signature, and the provider's signature stays
 * behind (the forwarded request carries Hookgate's own).
 */
import { createHmac } from 'node:crypto';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS } from '../../src/inbound/providers/index.js';
import { STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

async function post(url: string, body: string, headers: Record<string, string>) {
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  expect(res.status).toBe(200);
}

describe('providers forward their event headers by default', () => {
  it('never a signature, timestamp or credential', () => {
    for (const [type, provider] of Object.entries(PROVIDERS)) {
      for (const name of provider.forwardedHeaders) {
        expect(name, `${type}: ${name}`).toBe(name.toLowerCase());
        expect(name, `${type}: ${name}`).not.toMatch(
          /signature|hmac|timestamp|secret|token|authorization|cookie|api-?key/,
        );
      }
    }
  });
});

describe.each(STORES)('forwarded provider events carry the provider headers (%s)', (store) => {
  let hg: TestHookgate;
  let receiver: Receiver;

  beforeAll(async () => {
    hg = await startTestHookgate({ store });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await hg.destroy();
    await receiver.close();
  });

  async function source(type: string, secret: string, passthroughHeaders: string[] = []) {
    const created = await hg.svix.ingest.source.create({
      name: `${type} source`,
      type,
      config: { secret, passthroughHeaders },
    } as never);
    await hg.svix.ingest.endpoint.create(created.id, { url: receiver.url });
    return created.ingestUrl!;
  }

  it('forwards X-GitHub-Event and X-GitHub-Delivery of a GitHub-signed request, not its signature', async () => {
    const secret = 'github-headers-secret';
    // Even asked for, the provider's signature stays behind.
    const url = await source('github', secret, ['X-Hub-Signature-256']);
    const body = JSON.stringify({ action: 'opened', number: 7 });
    const before = receiver.requests.length;
    await post(url, body, {
      'X-GitHub-Event': 'pull_request',
      'X-GitHub-Delivery': 'd1e2f3a4-0000-4000-8000-000000000001',
      'X-GitHub-Hook-ID': '4242',
      'X-Hub-Signature-256': await githubSign(secret, body),
      'X-Other': 'not forwarded',
    });
    const forwarded = (await receiver.waitFor(before + 1))[before]!;
    expect(forwarded.body).toBe(body);
    expect(forwarded.headers['x-github-event']).toBe('pull_request');
    expect(forwarded.headers['x-github-delivery']).toBe('d1e2f3a4-0000-4000-8000-000000000001');
    expect(forwarded.headers['x-github-hook-id']).toBe('4242');
    expect(forwarded.headers['x-hub-signature-256']).toBeUndefined();
    expect(forwarded.headers['x-other']).toBeUndefined();
    // Hookgate's own signature replaces the provider's.
    expect(forwarded.headers['webhook-signature']).toMatch(/^v1,/);
  });

  it('forwards X-Shopify-Topic and X-Shopify-Webhook-Id of a Shopify-signed request, not its HMAC', async () => {
    const secret = 'shopify-headers-secret';
    const url = await source('shopify', secret);
    const body = JSON.stringify({ id: 820982911946154500 });
    const before = receiver.requests.length;
    await post(url, body, {
      'X-Shopify-Topic': 'orders/create',
      'X-Shopify-Webhook-Id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      'X-Shopify-Shop-Domain': 'example.myshopify.com',
      'X-Shopify-Hmac-Sha256': createHmac('sha256', secret).update(body).digest('base64'),
    });
    const forwarded = (await receiver.waitFor(before + 1))[before]!;
    expect(forwarded.headers['x-shopify-topic']).toBe('orders/create');
    expect(forwarded.headers['x-shopify-webhook-id']).toBe('b54557e4-bdd9-4b37-8a5f-bf7d70bcd043');
    expect(forwarded.headers['x-shopify-shop-domain']).toBe('example.myshopify.com');
    expect(forwarded.headers['x-shopify-hmac-sha256']).toBeUndefined();
  });
});
