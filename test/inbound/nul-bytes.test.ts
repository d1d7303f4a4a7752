/**
 * Inbound bodies are bytes: a provider's body with a NUL or bytes that are not UTF-8 is accepted,
 * logged, and forwarded to endpoints byte for byte (it answered 500 with nothing logged on
 * PostgreSQL, so the provider retried forever; a body that was not UTF-8 was refused with 415).
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/** JSON-looking text with a raw NUL inside it and two bytes that are not UTF-8 after it. */
const BODY = Buffer.concat([Buffer.from('{"id": "evt_1", "type": "a\0b"}'), Buffer.from([0xff, 0xfe])]);

interface LogEntry {
  id: string;
  status: string;
  payload: string;
  msg_id: string | null;
}

describe.each(STORES)('inbound bodies with NUL and bytes that are not UTF-8 (%s)', (store) => {
  let hg: TestHookgate;
  let receiver: Receiver;
  beforeAll(async () => {
    hg = await startTestHookgate({ store });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await hg?.destroy();
    await receiver?.close();
  });

  async function source(type: string, config: Record<string, unknown>) {
    const created = await hg.svix.ingest.source.create({ name: `${type} source`, type, config } as never);
    const endpoint = await hg.svix.ingest.endpoint.create(created.id, { url: receiver.url });
    const { key } = await hg.svix.ingest.endpoint.getSecret(created.id, endpoint.id);
    return { id: created.id, ingestUrl: created.ingestUrl!, key };
  }

  /** Posts the bytes, then checks the log entry and the forwarded request's bytes and signature. */
  async function acceptsAndForwards(
    src: { id: string; ingestUrl: string; key: string },
    headers: Record<string, string>,
  ) {
    const before = receiver.requests.length;
    const res = await fetch(src.ingestUrl, {
      method: 'POST',
      body: BODY,
      headers: { 'content-type': 'application/octet-stream', ...headers },
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { id: string; status: string };
    expect(answer.status).toBe('accepted');

    const logged = await fetch(`${hg.url}/ingest/api/v1/source/${src.id}/log/${answer.id}`, {
      headers: { authorization: `Bearer ${hg.adminToken}` },
    });
    expect(logged.status).toBe(200);
    const entry = (await logged.json()) as LogEntry;
    expect(entry.status).toBe('accepted');
    // Shown as text (the invalid bytes as U+FFFD); kept and forwarded as the bytes themselves.
    expect(entry.payload).toBe(BODY.toString('utf8'));

    const [forwarded] = (await receiver.waitFor(before + 1)).slice(before);
    expect(forwarded!.raw.equals(BODY)).toBe(true);
    // Re-signed over the exact bytes. (The standardwebhooks library turns a Buffer into text
    // before signing, so it cannot check bytes that are not UTF-8: this is the spec's HMAC itself.)
    const id = String(forwarded!.headers['webhook-id']);
    const timestamp = String(forwarded!.headers['webhook-timestamp']);
    const key = Buffer.from(src.key.replace(/^whsec_/, ''), 'base64');
    const expected = createHmac('sha256', key)
      .update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`), BODY]))
      .digest('base64');
    expect(String(forwarded!.headers['webhook-signature']).split(' ')).toContain(`v1,${expected}`);
  }

  it('accepts, logs and forwards them byte for byte from a source without a signature', async () => {
    await acceptsAndForwards(await source('generic-webhook', {}), {});
  });

  it('accepts, logs and forwards them byte for byte from a Stripe-signed source', async () => {
    const secret = 'whsec_stripe_bytes';
    const t = Math.floor(Date.now() / 1000);
    const v1 = createHmac('sha256', secret)
      .update(Buffer.concat([Buffer.from(`${t}.`), BODY]))
      .digest('hex');
    await acceptsAndForwards(await source('stripe', { secret }), { 'stripe-signature': `t=${t},v1=${v1}` });
  });
});
