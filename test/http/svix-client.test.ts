import { Svix } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/**
 * The official `svix` npm client (1.99.1), pointed at Hookgate, drives every route of the
 * sending API. If Svix's own SDK works unchanged, so do its SDKs in other languages.
 */
describe.each(STORES)('svix client against Hookgate (%s)', (store) => {
  let hg: TestHookgate;
  let svix: Svix;
  let receiver: Receiver;

  beforeAll(async () => {
    hg = await startTestHookgate({ store });
    svix = hg.svix;
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await hg.destroy();
    await receiver.close();
  });

  it('reports health', async () => {
    await expect(svix.health.get()).resolves.toBeUndefined();
  });

  it('creates, gets, lists, updates, patches and deletes applications', async () => {
    const app = await svix.application.create({ name: 'Acme', uid: 'acme', metadata: { plan: 'pro' } });
    expect(app.id).toMatch(/^app_/);
    expect(app).toMatchObject({ name: 'Acme', uid: 'acme', metadata: { plan: 'pro' } });
    expect(app.createdAt).toBeInstanceOf(Date);

    expect((await svix.application.get('acme')).id).toBe(app.id);
    expect((await svix.application.getOrCreate({ name: 'ignored', uid: 'acme' })).id).toBe(app.id);
    const other = await svix.application.getOrCreate({ name: 'Other', uid: 'other' });
    expect(other.id).not.toBe(app.id);

    const updated = await svix.application.update(app.id, { name: 'Acme Inc', uid: 'acme' });
    expect(updated.name).toBe('Acme Inc');
    const patched = await svix.application.patch('acme', { metadata: { plan: 'enterprise' } });
    expect(patched).toMatchObject({ name: 'Acme Inc', metadata: { plan: 'enterprise' } });

    const page1 = await svix.application.list({ limit: 1 });
    expect(page1.data).toHaveLength(1);
    expect(page1.done).toBe(false);
    const page2 = await svix.application.list({ limit: 1, iterator: page1.iterator });
    expect(page2.data[0]!.id).not.toBe(page1.data[0]!.id);

    await svix.application.delete(other.id);
    await expect(svix.application.get(other.id)).rejects.toMatchObject({ code: 404 });
  });

  it('manages event types, archiving on delete', async () => {
    const created = await svix.eventType.create({ name: 'invoice.paid', description: 'An invoice was paid' });
    expect(created).toMatchObject({ name: 'invoice.paid', archived: false, deprecated: false });
    await svix.eventType.create({ name: 'invoice.voided', description: 'Voided' });
    expect((await svix.eventType.get('invoice.paid')).description).toBe('An invoice was paid');
    const updated = await svix.eventType.update('invoice.paid', {
      description: 'Paid',
      schemas: { '1': { type: 'object', properties: { amount: { type: 'number' } } } },
    });
    expect(updated.schemas).toEqual({ '1': { type: 'object', properties: { amount: { type: 'number' } } } });
    expect((await svix.eventType.patch('invoice.paid', { deprecated: true })).deprecated).toBe(true);

    await svix.eventType.delete('invoice.voided');
    const visible = await svix.eventType.list();
    expect(visible.data.map((e) => e.name)).toEqual(['invoice.paid']);
    const all = await svix.eventType.list({ includeArchived: true });
    expect(all.data.find((e) => e.name === 'invoice.voided')?.archived).toBe(true);
  });

  it('manages endpoints, their secret, headers and stats', async () => {
    const app = await svix.application.create({ name: 'Endpoints' });
    const ep = await svix.endpoint.create(app.id, {
      url: receiver.url,
      uid: 'main',
      description: 'main receiver',
      filterTypes: ['user.created'],
      channels: ['eu'],
      metadata: { team: 'core' },
      headers: { 'X-Tenant': 'acme' },
    });
    expect(ep.id).toMatch(/^ep_/);
    expect(ep).toMatchObject({
      url: receiver.url,
      uid: 'main',
      filterTypes: ['user.created'],
      channels: ['eu'],
    });

    expect((await svix.endpoint.get(app.id, 'main')).id).toBe(ep.id);
    expect((await svix.endpoint.list(app.id)).data.map((e) => e.id)).toEqual([ep.id]);

    const updated = await svix.endpoint.update(app.id, ep.id, { url: receiver.url, description: 'updated' });
    expect(updated).toMatchObject({ description: 'updated', filterTypes: null, channels: null });
    const patched = await svix.endpoint.patch(app.id, ep.id, { disabled: true, rateLimit: 10 });
    expect(patched).toMatchObject({ description: 'updated', disabled: true, rateLimit: 10 });

    const { key } = await svix.endpoint.getSecret(app.id, ep.id);
    expect(key).toMatch(/^whsec_/);
    await svix.endpoint.rotateSecret(app.id, ep.id, {});
    const rotated = await svix.endpoint.getSecret(app.id, ep.id);
    expect(rotated.key).not.toBe(key);
    const chosen = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    await svix.endpoint.rotateSecret(app.id, ep.id, { key: chosen });
    expect((await svix.endpoint.getSecret(app.id, ep.id)).key).toBe(chosen);

    expect(await svix.endpoint.getHeaders(app.id, ep.id)).toEqual({
      headers: { 'X-Tenant': 'acme' },
      sensitive: [],
    });
    await svix.endpoint.updateHeaders(app.id, ep.id, {
      headers: { 'X-A': '1', Authorization: 'Bearer s3cret' },
    });
    await svix.endpoint.patchHeaders(app.id, ep.id, { headers: { 'X-B': '2' } });
    expect(await svix.endpoint.getHeaders(app.id, ep.id)).toEqual({
      headers: { 'X-A': '1', 'X-B': '2' },
      sensitive: ['Authorization'],
    });

    expect(await svix.endpoint.getStats(app.id, ep.id)).toEqual({
      success: 0,
      pending: 0,
      sending: 0,
      fail: 0,
      canceled: 0,
    });

    await svix.endpoint.delete(app.id, ep.id);
    await expect(svix.endpoint.get(app.id, ep.id)).rejects.toMatchObject({ code: 404 });
  });

  it('publishes, lists and gets messages, with eventId dedupe, channels and an inline application', async () => {
    const msg = await svix.message.create('inline-app', {
      eventType: 'order.created',
      payload: { order: 1 },
      channels: ['eu'],
      eventId: 'evt-1',
      application: { name: 'Inline' },
    });
    expect(msg.id).toMatch(/^msg_/);
    expect(msg).toMatchObject({
      eventType: 'order.created',
      payload: { order: 1 },
      channels: ['eu'],
      eventId: 'evt-1',
    });
    const app = await svix.application.get('inline-app');
    expect(app.name).toBe('Inline');

    const again = await svix.message.create(app.id, {
      eventType: 'order.created',
      payload: { order: 2 },
      eventId: 'evt-1',
    });
    expect(again.id).toBe(msg.id);
    const second = await svix.message.create(app.id, { eventType: 'order.shipped', payload: { order: 1 } });

    expect((await svix.message.get(app.id, msg.id)).payload).toEqual({ order: 1 });
    expect((await svix.message.get(app.id, 'evt-1')).id).toBe(msg.id);
    const listed = await svix.message.list(app.id);
    expect(listed.data.map((m) => m.id)).toEqual([second.id, msg.id]);
    expect(
      (await svix.message.list(app.id, { eventTypes: ['order.shipped'] })).data.map((m) => m.id),
    ).toEqual([second.id]);
    expect((await svix.message.list(app.id, { channel: 'eu' })).data.map((m) => m.id)).toEqual([msg.id]);
    expect((await svix.message.list(app.id, { after: new Date(Date.now() + 60_000) })).data).toEqual([]);
    expect((await svix.message.list(app.id, { before: new Date(Date.now() + 60_000) })).data).toHaveLength(2);
  });

  it('lists attempts by endpoint and by message, gets one, resends, and lists destinations', async () => {
    const app = await svix.application.create({ name: 'Attempts' });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const before = receiver.requests.length;
    const msg = await svix.message.create(app.id, { eventType: 'ping', payload: { n: 1 } });
    await receiver.waitFor(before + 1);

    const byEndpoint = await eventually(async () => {
      const page = await svix.messageAttempt.listByEndpoint(app.id, ep.id);
      return page.data.length === 1 ? page : null;
    });
    const attempt = byEndpoint.data[0]!;
    expect(attempt).toMatchObject({
      msgId: msg.id,
      endpointId: ep.id,
      responseStatusCode: 200,
      status: 0,
      triggerType: 0,
    });
    expect(attempt.id).toMatch(/^atmpt_/);
    expect((await svix.messageAttempt.listByMsg(app.id, msg.id)).data.map((a) => a.id)).toEqual([attempt.id]);
    expect((await svix.messageAttempt.get(app.id, msg.id, attempt.id)).response).toBe('ok');

    await svix.messageAttempt.resend(app.id, msg.id, ep.id);
    await receiver.waitFor(before + 2);
    const after = await eventually(async () => {
      const page = await svix.messageAttempt.listByMsg(app.id, msg.id);
      return page.data.length === 2 ? page : null;
    });
    expect(after.data[0]!.triggerType).toBe(1);
    expect(receiver.requests[before + 1]!.headers['webhook-id']).toBe(msg.id);

    const destinations = await svix.messageAttempt.listAttemptedDestinations(app.id, msg.id);
    expect(destinations.data).toHaveLength(1);
    expect(destinations.data[0]).toMatchObject({ id: ep.id, status: 0 });
    expect(await svix.endpoint.getStats(app.id, ep.id)).toMatchObject({ success: 1, fail: 0 });

    const attempted = await svix.messageAttempt.listAttemptedMessages(app.id, ep.id);
    expect(attempted.data.map((m) => [m.id, m.status, m.payload])).toEqual([[msg.id, 0, { n: 1 }]]);
    expect((await svix.messageAttempt.listAttemptedMessages(app.id, ep.id, { status: 2 })).data).toEqual([]);
  });

  it('recovers failed messages of an endpoint', async () => {
    const failing = await startReceiver(() => ({ status: 500, body: 'down' }));
    try {
      const app = await svix.application.create({ name: 'Recover' });
      const ep = await svix.endpoint.create(app.id, { url: failing.url });
      const msg = await svix.message.create(app.id, { eventType: 'ping', payload: {} });
      // Test schedule "1,1": three attempts, then failed.
      await failing.waitFor(3);
      await eventually(async () => (await svix.endpoint.getStats(app.id, ep.id)).fail === 1);

      failing.respond = () => ({ status: 204 });
      const task = await svix.endpoint.recover(app.id, ep.id, { since: new Date(Date.now() - 60_000) });
      expect(task).toMatchObject({ status: 'running', task: 'endpoint.recover' });
      await failing.waitFor(4);
      await eventually(async () => (await svix.endpoint.getStats(app.id, ep.id)).success === 1);
      const attempts = await svix.messageAttempt.listByMsg(app.id, msg.id);
      expect(attempts.data.map((a) => a.responseStatusCode)).toEqual([204, 500, 500, 500]);
    } finally {
      await failing.close();
    }
  });

  it('schedules a message with deliverAt and lists messages by tag', async () => {
    const app = await svix.application.create({ name: 'Scheduled' });
    await svix.endpoint.create(app.id, { url: receiver.url });
    const before = receiver.requests.length;
    const deliverAt = new Date(Date.now() + 1500);
    const msg = await svix.message.create(app.id, {
      eventType: 'reminder',
      payload: { n: 1 },
      tags: ['billing'],
      deliverAt,
    });
    expect(msg.deliverAt?.toISOString()).toBe(deliverAt.toISOString());
    expect(msg.tags).toEqual(['billing']);
    await svix.message.create(app.id, { eventType: 'other', payload: {} });
    expect((await svix.message.list(app.id, { tag: 'billing' })).data.map((m) => m.id)).toEqual([msg.id]);
    const arrived = await eventually(() =>
      receiver.requests.slice(before).find((r) => r.headers['webhook-id'] === msg.id),
    );
    expect(arrived.at).toBeGreaterThanOrEqual(deliverAt.getTime() - 50);
  });

  it('creates an endpoint on PUT of an unknown id, and a failed PATCH changes nothing', async () => {
    const app = await svix.application.create({ name: 'Upsert' });
    const created = await svix.endpoint.update(app.id, 'billing-ep', { url: receiver.url });
    expect(created.uid).toBe('billing-ep');
    expect((await svix.endpoint.get(app.id, 'billing-ep')).id).toBe(created.id);
    const { key } = await svix.endpoint.getSecret(app.id, created.id);
    await svix.endpoint.create(app.id, { url: receiver.url, uid: 'taken' });
    const newKey = `whsec_${Buffer.alloc(32, 8).toString('base64')}`;
    await expect(
      svix.endpoint.patch(app.id, created.id, { uid: 'taken', secret: newKey }),
    ).rejects.toMatchObject({
      code: 409,
    });
    expect((await svix.endpoint.getSecret(app.id, created.id)).key).toBe(key);
    await svix.endpoint.patch(app.id, created.id, { secret: newKey });
    expect((await svix.endpoint.getSecret(app.id, created.id)).key).toBe(newKey);
  });

  it('issues an app-scoped token that works with the svix client for that app only', async () => {
    const mine = await svix.application.create({ name: 'Mine' });
    const theirs = await svix.application.create({ name: 'Theirs' });
    const access = await svix.authentication.appPortalAccess(mine.id, {});
    expect(access.token).toMatch(/^appsk_/);
    const scoped = new Svix(access.token, { serverUrl: hg.url });
    expect((await scoped.application.get(mine.id)).name).toBe('Mine');
    await expect(scoped.application.get(theirs.id)).rejects.toMatchObject({ code: 404 });
    await expect(scoped.endpoint.list(theirs.id)).rejects.toMatchObject({ code: 404 });
  });

  it('replays the first response for a repeated Idempotency-Key', async () => {
    const first = await svix.application.create({ name: 'Once' }, { idempotencyKey: 'key-1' });
    const second = await svix.application.create({ name: 'Twice' }, { idempotencyKey: 'key-1' });
    expect(second.id).toBe(first.id);
    expect(second.name).toBe('Once');
  });

  it('serves an OpenAPI document generated from the route schemas', async () => {
    const res = await fetch(`${hg.url}/openapi.json`);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/app',
        '/api/v1/app/{app_id}/msg',
        '/api/v1/app/{app_id}/endpoint/{endpoint_id}/recover',
      ]),
    );
  });
});
