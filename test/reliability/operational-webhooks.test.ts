/**
 * Operational webhooks end to end: the operator registers an endpoint with the official svix
 * client, Hookgate's deliveries misbehave, and the operator's receiver gets Svix-shaped events,
 * signed the Standard Webhooks way with that endpoint's secret.
 */
import { Webhook } from 'standardwebhooks';
import { ApiException, Svix, Webhook as SvixWebhook } from 'svix';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { type ReceivedRequest, type Receiver, type Reply, startReceiver } from '../helpers/receiver.js';

interface OperationalEvent {
  type: string;
  data: Record<string, unknown> & {
    lastAttempt?: { id: string; responseStatusCode: number; timestamp: string };
  };
}

describe.each(STORES)('operational webhooks (%s)', (store) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function hookgate(schedule: number[] = [1, 1, 1, 1]): Promise<TestHookgate> {
    const hg = await startTestHookgate({ store, retrySchedule: schedule });
    cleanup.push(() => hg.destroy());
    return hg;
  }

  async function receiver(respond: (n: number) => Reply = () => ({ status: 200 })): Promise<Receiver> {
    const r = await startReceiver((_req, n) => respond(n));
    cleanup.push(() => r.close());
    return r;
  }

  /** An operational endpoint registered with the svix client, and a verifier for its secret. */
  async function operator(hg: TestHookgate, respond?: (n: number) => Reply) {
    const r = await receiver(respond);
    const endpoint = await hg.svix.operationalWebhookEndpoint.create({ url: r.url, description: 'ops' });
    const { key } = await hg.svix.operationalWebhookEndpoint.getSecret(endpoint.id);
    const verifier = new Webhook(key);
    /** The events received so far, each verified against the endpoint's secret. */
    const events = (): OperationalEvent[] =>
      r.requests.map((req: ReceivedRequest) => {
        const headers = {
          'webhook-id': String(req.headers['webhook-id']),
          'webhook-timestamp': String(req.headers['webhook-timestamp']),
          'webhook-signature': String(req.headers['webhook-signature']),
        };
        return verifier.verify(req.body, headers) as OperationalEvent;
      });
    const waitForEvent = (type: string, timeoutMs = 15_000) =>
      eventually(() => events().find((e) => e.type === type), timeoutMs);
    return { receiver: r, endpoint, key, events, waitForEvent };
  }

  async function appWithEndpoint(hg: TestHookgate, url: string) {
    const app = await hg.svix.application.create({ name: 'customer', uid: `customer-${Date.now()}` });
    const endpoint = await hg.svix.endpoint.create(app.id, { url, uid: 'primary' });
    return { app, endpoint };
  }

  it('manages operational endpoints through the svix client, admin only', async () => {
    const hg = await hookgate();
    expect((await hg.svix.operationalWebhookEndpoint.list()).data).toEqual([]);
    const created = await hg.svix.operationalWebhookEndpoint.create({
      url: 'http://127.0.0.1:9/ops',
      uid: 'ops-main',
      filterTypes: ['endpoint.disabled'],
      metadata: { team: 'sre' },
    });
    expect(created).toMatchObject({
      uid: 'ops-main',
      url: 'http://127.0.0.1:9/ops',
      disabled: false,
      filterTypes: ['endpoint.disabled'],
      metadata: { team: 'sre' },
    });
    expect(created.id).toMatch(/^ep_/);
    expect((await hg.svix.operationalWebhookEndpoint.get('ops-main')).id).toBe(created.id);
    expect((await hg.svix.operationalWebhookEndpoint.list()).data.map((e) => e.id)).toEqual([created.id]);

    const updated = await hg.svix.operationalWebhookEndpoint.update(created.id, {
      url: 'http://127.0.0.1:9/ops2',
      description: 'moved',
    });
    expect(updated).toMatchObject({
      url: 'http://127.0.0.1:9/ops2',
      description: 'moved',
      filterTypes: null,
    });

    await hg.svix.operationalWebhookEndpoint.updateHeaders(created.id, { headers: { 'x-team': 'sre' } });
    expect(await hg.svix.operationalWebhookEndpoint.getHeaders(created.id)).toEqual({
      headers: { 'x-team': 'sre' },
      sensitive: [],
    });

    const before = (await hg.svix.operationalWebhookEndpoint.getSecret(created.id)).key;
    expect(before).toMatch(/^whsec_/);
    await hg.svix.operationalWebhookEndpoint.rotateSecret(created.id, {});
    expect((await hg.svix.operationalWebhookEndpoint.getSecret(created.id)).key).not.toBe(before);

    // An app-scoped token never sees them, and learns nothing from trying.
    const app = await hg.svix.application.create({ name: 'tenant' });
    const { token } = await hg.svix.authentication.appPortalAccess(app.id, {});
    const tenant = new Svix(token, { serverUrl: hg.url });
    await expect(tenant.operationalWebhookEndpoint.list()).rejects.toMatchObject({ code: 403 });
    await expect(tenant.operationalWebhookEndpoint.get(created.id)).rejects.toMatchObject({ code: 403 });
    await expect(tenant.operationalWebhookEndpoint.get('ep_missing')).rejects.toMatchObject({ code: 403 });

    // A refused URL creates nothing.
    await expect(
      hg.svix.operationalWebhookEndpoint.create({ url: 'http://10.0.0.1/ops' }),
    ).rejects.toBeInstanceOf(ApiException);
    expect((await hg.svix.operationalWebhookEndpoint.list()).data).toHaveLength(1);

    await hg.svix.operationalWebhookEndpoint.delete(created.id);
    expect((await hg.svix.operationalWebhookEndpoint.list()).data).toEqual([]);
    await expect(hg.svix.operationalWebhookEndpoint.get(created.id)).rejects.toMatchObject({ code: 404 });
  });

  it('sends a signed endpoint.disabled when a receiver answers 410 Gone', async () => {
    const hg = await hookgate();
    const ops = await operator(hg);
    const gone = await receiver(() => ({ status: 410 }));
    const { app, endpoint } = await appWithEndpoint(hg, gone.url);
    await hg.svix.message.create(app.id, { eventType: 'order.paid', payload: {} });

    const event = await ops.waitForEvent('endpoint.disabled');
    expect(event).toEqual({
      type: 'endpoint.disabled',
      data: {
        appId: app.id,
        appUid: app.uid,
        endpointId: endpoint.id,
        endpointUid: 'primary',
        failSince: null,
        trigger: 'automatic',
      },
    });
    const req = ops.receiver.requests[0]!;
    expect(req.headers['content-type']).toBe('application/json');
    // Svix's own verifier accepts it too, under its svix-* header names.
    const svixHeaders = {
      'svix-id': String(req.headers['svix-id']),
      'svix-timestamp': String(req.headers['svix-timestamp']),
      'svix-signature': String(req.headers['svix-signature']),
    };
    expect(new SvixWebhook(ops.key).verify(req.body, svixHeaders)).toEqual(event);
    expect(ops.events()).toHaveLength(1);
  });

  it('sends endpoint.disabled when webhook-delivery: disable turns an endpoint off', async () => {
    const hg = await hookgate();
    const ops = await operator(hg);
    const r = await receiver(() => ({ status: 500, headers: { 'webhook-delivery': 'disable' } }));
    const { app, endpoint } = await appWithEndpoint(hg, r.url);
    await hg.svix.message.create(app.id, { eventType: 'order.paid', payload: {} });
    const event = await ops.waitForEvent('endpoint.disabled');
    expect(event.data).toMatchObject({ endpointId: endpoint.id, trigger: 'automatic' });
  });

  it('sends message.attempt.failing on the 4th failure, exhausted at the end, recovered after a late success', async () => {
    const hg = await hookgate([1, 1, 1, 1]); // five attempts
    const ops = await operator(hg);
    const down = await receiver(() => ({ status: 503, body: 'down' }));
    const flaky = await receiver((n) => (n < 4 ? { status: 500 } : { status: 200 }));
    const a = await appWithEndpoint(hg, down.url);
    const b = await appWithEndpoint(hg, flaky.url);
    const lost = await hg.svix.message.create(a.app.id, {
      eventType: 'order.paid',
      payload: {},
      eventId: 'evt-1',
    });
    const late = await hg.svix.message.create(b.app.id, { eventType: 'order.paid', payload: {} });

    await eventually(() => ops.events().length >= 4, 20_000);
    const byMsg = (msgId: string) =>
      ops
        .events()
        .filter((e) => e.data.msgId === msgId)
        .map((e) => e.type);
    expect(byMsg(lost.id)).toEqual(['message.attempt.failing', 'message.attempt.exhausted']);
    expect(byMsg(late.id)).toEqual(['message.attempt.failing', 'message.attempt.recovered']);

    const attempts = (await hg.svix.messageAttempt.listByMsg(a.app.id, lost.id)).data;
    expect(attempts).toHaveLength(5);
    const [last, fourth] = attempts; // newest first
    const failing = ops
      .events()
      .find((e) => e.type === 'message.attempt.failing' && e.data.msgId === lost.id)!;
    expect(failing.data).toEqual({
      appId: a.app.id,
      appUid: a.app.uid,
      endpointId: a.endpoint.id,
      msgId: lost.id,
      msgEventId: 'evt-1',
      lastAttempt: {
        id: fourth!.id,
        responseStatusCode: 503,
        timestamp: fourth!.timestamp.toISOString(),
      },
    });
    const exhausted = ops.events().find((e) => e.type === 'message.attempt.exhausted')!;
    expect(exhausted.data.lastAttempt).toEqual({
      id: last!.id,
      responseStatusCode: 503,
      timestamp: last!.timestamp.toISOString(),
    });
    const recovered = ops.events().find((e) => e.type === 'message.attempt.recovered')!;
    expect(recovered.data).toMatchObject({ appId: b.app.id, endpointId: b.endpoint.id, msgEventId: null });
    expect(recovered.data.lastAttempt!.responseStatusCode).toBe(200);
  });

  it('sends endpoint.disabled (manual) and endpoint.enabled when the API flips an endpoint', async () => {
    const hg = await hookgate();
    const ops = await operator(hg);
    const { app, endpoint } = await appWithEndpoint(hg, 'http://127.0.0.1:9/unused');
    await hg.svix.endpoint.patch(app.id, endpoint.id, { disabled: true });
    await hg.svix.endpoint.patch(app.id, endpoint.id, { description: 'no flip, no event' });
    await hg.svix.endpoint.update(app.id, endpoint.id, {
      url: 'http://127.0.0.1:9/unused',
      uid: 'primary',
      disabled: false,
    });
    await eventually(() => ops.events().length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ops.events()).toEqual([
      {
        type: 'endpoint.disabled',
        data: {
          appId: app.id,
          appUid: app.uid,
          endpointId: endpoint.id,
          endpointUid: 'primary',
          failSince: null,
          trigger: 'manual',
        },
      },
      {
        type: 'endpoint.enabled',
        data: { appId: app.id, appUid: app.uid, endpointId: endpoint.id, endpointUid: 'primary' },
      },
    ]);
  });

  it('never raises operational events about its own endpoints: a failing operator receiver cannot loop', async () => {
    const hg = await hookgate([1, 1, 1, 1]);
    // The operator's receiver fails each event four times (a 4th failure raises `failing` for any
    // other endpoint), then answers 410 (which raises `endpoint.disabled` for any other endpoint).
    const tries = new Map<string, number>();
    const ops = await startReceiver((req) => {
      const id = String(req.headers['webhook-id']);
      tries.set(id, (tries.get(id) ?? 0) + 1);
      return tries.get(id)! <= 4 ? { status: 500 } : { status: 410 };
    });
    cleanup.push(() => ops.close());
    const opsEndpoint = await hg.svix.operationalWebhookEndpoint.create({ url: ops.url });
    const gone = await receiver(() => ({ status: 410 }));
    const { app } = await appWithEndpoint(hg, gone.url);
    await hg.svix.message.create(app.id, { eventType: 'order.paid', payload: {} });

    await eventually(
      async () => (await hg.svix.operationalWebhookEndpoint.get(opsEndpoint.id)).disabled,
      20_000,
    );
    expect(ops.requests).toHaveLength(5);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Only the event about the customer's endpoint: none about the operator's own.
    const messages = await hg.svix.message.list('hookgate-operational', { limit: 100 });
    expect(messages.data.map((m) => m.eventType)).toEqual(['endpoint.disabled']);
    expect(ops.requests).toHaveLength(5);
  });
});
