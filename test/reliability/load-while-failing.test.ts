import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/**
 * A quarter of the endpoints never answer. The healthy ones must be served at once, not behind
 * the dead ones: every healthy delivery lands before the first dead attempt has even timed out,
 * and the dead endpoints hold no more than their concurrency cap.
 */
describe.each(STORES)('load while a quarter of the endpoints time out (%s)', (store) => {
  let hg: TestHookgate;
  let healthy: Receiver;
  let dead: Receiver;

  beforeAll(async () => {
    hg = await startTestHookgate({ store, requestTimeoutSeconds: 5, retrySchedule: [] });
    healthy = await startReceiver();
    dead = await startReceiver(() => ({ status: 200, delayMs: 60_000 }));
  });
  afterAll(async () => {
    await hg.destroy();
    await healthy.close();
    await dead.close();
  });

  it('serves the healthy three quarters without waiting for the dead quarter', async () => {
    const endpoints: Array<{ app: string; endpoint: string; dead: boolean }> = [];
    for (let i = 0; i < 8; i++) {
      const app = await hg.svix.application.create({ name: `app${i}` });
      const isDead = i % 4 === 0;
      const ep = await hg.svix.endpoint.create(app.id, { url: isDead ? dead.url : healthy.url });
      endpoints.push({ app: app.id, endpoint: ep.id, dead: isDead });
    }
    await Promise.all(
      endpoints.map(async ({ app }) => {
        for (let n = 0; n < 40; n++) await hg.svix.message.create(app, { eventType: 'e', payload: { n } });
      }),
    );
    await healthy.waitFor(6 * 40, 20_000);
    // No dead attempt has finished (timed out after 5 s) yet: the healthy work never queued
    // behind the dead endpoints.
    for (const e of endpoints.filter((x) => x.dead)) {
      const recorded = await hg.svix.messageAttempt.listByEndpoint(e.app, e.endpoint);
      expect(recorded.data).toEqual([]);
    }
    expect(dead.concurrency.max).toBeLessThanOrEqual(2 * 16);
    expect(dead.requests.length).toBeLessThanOrEqual(2 * 16);
  });
});
