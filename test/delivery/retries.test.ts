import { afterEach, describe, expect, it } from 'vitest';
import { eventually, STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

describe.each(STORES)('retries (%s)', (store) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function setup(respond: Receiver['respond'], schedule = [1, 1]) {
    const hg: TestHookgate = await startTestHookgate({ store, retrySchedule: schedule });
    cleanup.push(() => hg.destroy());
    const receiver = await startReceiver(respond);
    cleanup.push(() => receiver.close());
    const app = await hg.svix.application.create({ name: 'retries' });
    const endpoint = await hg.svix.endpoint.create(app.id, { url: receiver.url });
    return { hg, receiver, app, endpoint };
  }

  it('retries a receiver that fails twice, then records its success: three attempts', async () => {
    const { hg, receiver, app, endpoint } = await setup((_req, n) =>
      n < 2 ? { status: 503 } : { status: 200 },
    );
    const msg = await hg.svix.message.create(app.id, { eventType: 'ping', payload: { n: 1 } });
    const reqs = await receiver.waitFor(3);
    expect(new Set(reqs.map((r) => r.headers['webhook-id']))).toEqual(new Set([msg.id]));
    // The schedule's 1 s delays (±20% jitter) separate the attempts.
    expect(reqs[1]!.at - reqs[0]!.at).toBeGreaterThanOrEqual(750);
    const attempts = await eventually(async () => {
      const page = await hg.svix.messageAttempt.listByMsg(app.id, msg.id);
      return page.data.length === 3 ? page.data : null;
    });
    expect(attempts.map((a) => [a.responseStatusCode, a.statusText])).toEqual([
      [200, 'success'],
      [503, 'fail'],
      [503, 'fail'],
    ]);
    expect(await hg.svix.endpoint.getStats(app.id, endpoint.id)).toMatchObject({
      success: 1,
      fail: 0,
      pending: 0,
    });
  });

  it('marks a delivery failed once the schedule is used up', async () => {
    const { hg, receiver, app, endpoint } = await setup(() => ({ status: 500, body: 'boom' }), [1]);
    const msg = await hg.svix.message.create(app.id, { eventType: 'ping', payload: {} });
    await receiver.waitFor(2);
    await eventually(async () => (await hg.svix.endpoint.getStats(app.id, endpoint.id)).fail === 1);
    await new Promise((r) => setTimeout(r, 1500));
    expect(receiver.requests).toHaveLength(2);
    const attempts = await hg.svix.messageAttempt.listByMsg(app.id, msg.id);
    expect(attempts.data.map((a) => a.response)).toEqual(['boom', 'boom']);
    const [destination] = (await hg.svix.messageAttempt.listAttemptedDestinations(app.id, msg.id)).data;
    expect(destination).toMatchObject({ status: 2, statusText: 'fail', nextAttempt: null });
  });

  it('records a network error as an attempt with status 0 and retries it', async () => {
    const hg = await startTestHookgate({ store, retrySchedule: [1] });
    cleanup.push(() => hg.destroy());
    const closed = await startReceiver();
    const deadUrl = closed.url;
    await closed.close(); // nothing listens on this port now
    const app = await hg.svix.application.create({ name: 'dead' });
    const endpoint = await hg.svix.endpoint.create(app.id, { url: deadUrl });
    const msg = await hg.svix.message.create(app.id, { eventType: 'ping', payload: {} });
    const attempts = await eventually(async () => {
      const page = await hg.svix.messageAttempt.listByMsg(app.id, msg.id);
      return page.data.length === 2 ? page.data : null;
    });
    expect(attempts.every((a) => a.responseStatusCode === 0 && a.status === 2)).toBe(true);
    expect(attempts[0]!.response).toMatch(/ECONNREFUSED/);
    await eventually(async () => (await hg.svix.endpoint.getStats(app.id, endpoint.id)).fail === 1);
  });

  it('waits at least as long as Retry-After asks', async () => {
    const { hg, receiver, app } = await setup((_req, n) =>
      n === 0 ? { status: 429, headers: { 'retry-after': '3' } } : { status: 200 },
    );
    await hg.svix.message.create(app.id, { eventType: 'ping', payload: {} });
    const [first, second] = await receiver.waitFor(2, 10_000);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(2900);
  });

  it('disables the endpoint when the receiver answers 410 Gone', async () => {
    const { hg, receiver, app, endpoint } = await setup(() => ({ status: 410 }));
    await hg.svix.message.create(app.id, { eventType: 'ping', payload: {} });
    await receiver.waitFor(1);
    await eventually(async () => (await hg.svix.endpoint.get(app.id, endpoint.id)).disabled);
    expect(await hg.svix.endpoint.getStats(app.id, endpoint.id)).toMatchObject({ fail: 1 });
    // A disabled endpoint receives nothing new.
    await hg.svix.message.create(app.id, { eventType: 'ping', payload: {} });
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests).toHaveLength(1);
  });

  it('times out a receiver that does not answer, and keeps delivering to a healthy one meanwhile', async () => {
    const hg = await startTestHookgate({ store, retrySchedule: [], requestTimeoutSeconds: 1 });
    cleanup.push(() => hg.destroy());
    const slow = await startReceiver(() => ({ status: 200, delayMs: 5000 }));
    cleanup.push(() => slow.close());
    const healthy = await startReceiver();
    cleanup.push(() => healthy.close());
    const slowApp = await hg.svix.application.create({ name: 'slow' });
    const healthyApp = await hg.svix.application.create({ name: 'healthy' });
    const slowEp = await hg.svix.endpoint.create(slowApp.id, { url: slow.url });
    await hg.svix.endpoint.create(healthyApp.id, { url: healthy.url });
    // Far more slow work than the per-endpoint concurrency cap.
    for (let i = 0; i < 40; i++)
      await hg.svix.message.create(slowApp.id, { eventType: 'ping', payload: { i } });
    for (let i = 0; i < 20; i++)
      await hg.svix.message.create(healthyApp.id, { eventType: 'ping', payload: { i } });
    await healthy.waitFor(20, 5000);
    // The slow endpoint never held more than its concurrency cap (16), and the healthy one
    // was served while the slow backlog was still waiting its turn.
    expect(slow.concurrency.max).toBeLessThanOrEqual(16);
    expect(slow.requests.length).toBeLessThan(40);
    const attempts = await eventually(async () => {
      const page = await hg.svix.messageAttempt.listByEndpoint(slowApp.id, slowEp.id, { limit: 1 });
      return page.data.length ? page.data : null;
    });
    expect(attempts[0]).toMatchObject({ responseStatusCode: 0 });
    expect(attempts[0]!.response).toMatch(/timeout/i);
  });
});
