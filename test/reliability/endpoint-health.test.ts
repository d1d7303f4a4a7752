import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_HEALTH_POLICY } from '../../src/domain/health.js';
import { eventually, STORES, startTestHookgate } from '../helpers/hookgate.js';
import { startReceiver } from '../helpers/receiver.js';

describe.each(STORES)('endpoint health and rate limits (%s)', (store) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('enforces an endpoint rate limit: deliveries over it wait, none is dropped', async () => {
    const hg = await startTestHookgate({ store });
    cleanup.push(() => hg.destroy());
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    const app = await hg.svix.application.create({ name: 'limited' });
    await hg.svix.endpoint.create(app.id, { url: receiver.url, rateLimit: 5 });
    for (let i = 0; i < 20; i++) await hg.svix.message.create(app.id, { eventType: 'e', payload: { i } });
    const reqs = await receiver.waitFor(20, 15_000);
    // A bucket of 5 tokens refilled at 5/s: the last 15 need at least 3 s. (A lower bound only.)
    expect(reqs[19]!.at - reqs[0]!.at).toBeGreaterThanOrEqual(2500);
    expect(new Set(reqs.map((r) => r.headers['webhook-id'])).size).toBe(20);
  });

  it('stops sending to a failing endpoint while its circuit is open, probes once, then resumes', async () => {
    const hg = await startTestHookgate({
      store,
      retrySchedule: [1, 1, 1, 1, 1, 1, 1, 1],
      health: { ...DEFAULT_HEALTH_POLICY, openAfterFailures: 3, openBaseMs: 3000 },
    });
    cleanup.push(() => hg.destroy());
    let healthy = false;
    const receiver = await startReceiver(() => ({ status: healthy ? 200 : 500 }));
    cleanup.push(() => receiver.close());
    const app = await hg.svix.application.create({ name: 'breaker' });
    const ep = await hg.svix.endpoint.create(app.id, { url: receiver.url });
    const started = Date.now();
    for (let i = 0; i < 10; i++) await hg.svix.message.create(app.id, { eventType: 'e', payload: { i } });
    await receiver.waitFor(3);
    // Three failures opened the circuit: nothing more is sent while it is open (messages not yet
    // tried wait untried), although the retry schedule (1 s) would have tried them all by now.
    await new Promise((r) => setTimeout(r, Math.max(0, started + 2500 - Date.now())));
    expect(receiver.requests.filter((r) => r.at - started > 1000)).toEqual([]);
    healthy = true;
    await eventually(async () => (await hg.svix.endpoint.getStats(app.id, ep.id)).success === 10, 15_000);
    // After the pause: a probe, then everything, each message delivered once it succeeded.
    const attempts = await hg.svix.messageAttempt.listByEndpoint(app.id, ep.id, { limit: 100 });
    expect(attempts.data.filter((a) => a.responseStatusCode === 200)).toHaveLength(10);
  });

  it('disables an endpoint that keeps failing for the configured time and shows why', async () => {
    const hg = await startTestHookgate({
      store,
      retrySchedule: [1, 1, 1, 1, 1, 1],
      health: { ...DEFAULT_HEALTH_POLICY, openAfterFailures: 1000, disableAfterMs: 1500 },
    });
    cleanup.push(() => hg.destroy());
    const receiver = await startReceiver(() => ({ status: 503 }));
    cleanup.push(() => receiver.close());
    const app = await hg.svix.application.create({ name: 'doomed' });
    const ep = await hg.svix.endpoint.create(app.id, { url: receiver.url });
    await hg.svix.message.create(app.id, { eventType: 'e', payload: {} });
    const disabled = await eventually(async () => {
      const res = await fetch(`${hg.url}/api/v1/app/${app.id}/endpoint/${ep.id}`, {
        headers: { authorization: `Bearer ${hg.adminToken}` },
      });
      const body = (await res.json()) as { disabled: boolean; disabledReason: string | null };
      return body.disabled ? body : null;
    }, 10_000);
    expect(disabled.disabledReason).toBe('failing');
    expect(receiver.requests.length).toBeGreaterThanOrEqual(2);
  });
});
