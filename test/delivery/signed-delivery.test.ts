import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

describe.each(STORES)('signed delivery (%s)', (store) => {
  let hg: TestHookgate;
  let receiver: Receiver;

  beforeEach(async () => {
    hg = await startTestHookgate({ store });
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await hg.destroy();
    await receiver.close();
  });

  it('delivers a published message that standardwebhooks and svix both verify', async () => {
    const app = await hg.svix.application.create({ name: 'Acme' });
    const endpoint = await hg.svix.endpoint.create(app.id, { url: receiver.url });
    const { key } = await hg.svix.endpoint.getSecret(app.id, endpoint.id);
    const msg = await hg.svix.message.create(app.id, {
      eventType: 'invoice.paid',
      payload: { amount: 42, note: 'é ✓' },
    });

    const [req] = await receiver.waitFor(1);
    expect(req!.headers['webhook-id']).toBe(msg.id);
    // The same values under Svix's header names, for receivers written against hosted Svix.
    expect(req!.headers['svix-id']).toBe(msg.id);
    expect(req!.headers['svix-timestamp']).toBe(req!.headers['webhook-timestamp']);
    expect(req!.headers['svix-signature']).toBe(req!.headers['webhook-signature']);
    expect(JSON.parse(req!.body)).toEqual({ amount: 42, note: 'é ✓' });
    const headers = {
      'webhook-id': String(req!.headers['webhook-id']),
      'webhook-timestamp': String(req!.headers['webhook-timestamp']),
      'webhook-signature': String(req!.headers['webhook-signature']),
    };
    expect(new StandardWebhook(key).verify(req!.body, headers)).toEqual({ amount: 42, note: 'é ✓' });
    expect(new SvixWebhook(key).verify(req!.body, headers)).toEqual({ amount: 42, note: 'é ✓' });

    const attempts = await eventually(async () => {
      const list = await hg.svix.messageAttempt.listByMsg(app.id, msg.id);
      return list.data.length === 1 ? list : null;
    });
    expect(attempts.data[0]).toMatchObject({
      msgId: msg.id,
      endpointId: endpoint.id,
      responseStatusCode: 200,
      status: 0,
    });
  });

  it('co-signs with the old secret during a rotation grace period, so receivers on either key verify', async () => {
    const app = await hg.svix.application.create({ name: 'Rotating' });
    const endpoint = await hg.svix.endpoint.create(app.id, { url: receiver.url });
    const oldKey = (await hg.svix.endpoint.getSecret(app.id, endpoint.id)).key;
    await hg.svix.endpoint.rotateSecret(app.id, endpoint.id, { gracePeriodSeconds: 3600 });
    const newKey = (await hg.svix.endpoint.getSecret(app.id, endpoint.id)).key;
    expect(newKey).not.toBe(oldKey);

    await hg.svix.message.create(app.id, { eventType: 'rotation', payload: { step: 1 } });
    const [req] = await receiver.waitFor(1);
    const headers = {
      'webhook-id': String(req!.headers['webhook-id']),
      'webhook-timestamp': String(req!.headers['webhook-timestamp']),
      'webhook-signature': String(req!.headers['webhook-signature']),
    };
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const key of [oldKey, newKey]) {
      expect(new StandardWebhook(key).verify(req!.body, headers)).toEqual({ step: 1 });
      expect(new SvixWebhook(key).verify(req!.body, headers)).toEqual({ step: 1 });
    }

    // With no grace period the key being rotated out stops signing at once.
    await hg.svix.endpoint.rotateSecret(app.id, endpoint.id, { gracePeriodSeconds: 0 });
    const newestKey = (await hg.svix.endpoint.getSecret(app.id, endpoint.id)).key;
    await hg.svix.message.create(app.id, { eventType: 'rotation', payload: { step: 2 } });
    const second = (await receiver.waitFor(2))[1]!;
    const secondHeaders = {
      'webhook-id': String(second.headers['webhook-id']),
      'webhook-timestamp': String(second.headers['webhook-timestamp']),
      'webhook-signature': String(second.headers['webhook-signature']),
    };
    expect(new StandardWebhook(newestKey).verify(second.body, secondHeaders)).toEqual({ step: 2 });
    expect(() => new StandardWebhook(newKey).verify(second.body, secondHeaders)).toThrow();
    // The first rotated-out key is still inside its hour of grace and keeps co-signing.
    expect(new SvixWebhook(oldKey).verify(second.body, secondHeaders)).toEqual({ step: 2 });
  });
});
