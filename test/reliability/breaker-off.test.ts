/**
 * HOOKGATE_BREAKER_THRESHOLD=0 turns the breaker off, also for endpoints whose circuit opened
 * while it was on (the node restarted with the new setting): a failing endpoint's deliveries
 * are attempted on their own schedules, not one probe at a time with the rest held back for a
 * lease each. The circuit's state is closed at the endpoint's next failure.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  eventually,
  freshStore,
  STORES,
  type StoreKind,
  startTestHookgate,
  tempDir,
} from '../helpers/hookgate.js';
import { startReceiver } from '../helpers/receiver.js';

const MESSAGES = 8;

describe.each(STORES)('breaker turned off after a circuit opened (%s)', (store: StoreKind) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('attempts every waiting delivery promptly, not one per lease', async () => {
    const receiver = await startReceiver(() => ({ status: 500, delayMs: 300 }));
    cleanup.push(() => receiver.close());
    // One database for two runs of the node, kept by the test rather than by either run.
    const dir = tempDir();
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const db = await freshStore(store, dir);
    cleanup.push(() => db.drop());
    const first = await startTestHookgate({
      store,
      ...db.config,
      retrySchedule: [60, 60],
      health: { openAfterFailures: 1, openBaseMs: 300, openMaxMs: 300, disableAfterMs: null },
    });
    let firstRunning = true;
    cleanup.push(async () => {
      if (firstRunning) await first.stop(2000);
    });
    const app = await first.svix.application.create({ name: 'failing' });
    const endpoint = await first.svix.endpoint.create(app.id, { url: receiver.url });
    await first.svix.message.create(app.id, { eventType: 'e', payload: { n: 'opens' } });
    await eventually(
      async () => (await first.svix.messageAttempt.listByEndpoint(app.id, endpoint.id)).data.length === 1,
    );
    // The circuit opened for 300 ms; now it is half-open.
    await new Promise((r) => setTimeout(r, 500));
    await first.stop(2000);
    firstRunning = false;

    const second = await startTestHookgate({
      store,
      ...db.config,
      retrySchedule: [60, 60],
      health: { openAfterFailures: 0, openBaseMs: 300, openMaxMs: 300, disableAfterMs: null },
    });
    cleanup.push(() => second.stop(2000));
    const before = receiver.requests.length;
    for (let n = 0; n < MESSAGES; n++)
      await second.svix.message.create(app.id, { eventType: 'e', payload: { n } });
    // Each answer takes 300 ms, and a lease is 10 s here (5 s timeout + 5 s margin): one probe at
    // a time with the rest held for a lease would take over a minute.
    await eventually(() => receiver.requests.length - before >= MESSAGES, 4000);
    expect(receiver.requests.length - before).toBe(MESSAGES);
  }, 30_000);
});
