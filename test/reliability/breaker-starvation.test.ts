import { afterEach, describe, expect, it } from 'vitest';
import type { HealthPolicy } from '../../src/domain/health.js';
import {
  eventually,
  STORES,
  type StoreKind,
  startTestHookgate,
  type TestHookgate,
} from '../helpers/hookgate.js';
import { type Receiver, type Responder, startReceiver } from '../helpers/receiver.js';

/**
 * "A dead endpoint never delays healthy ones", for every state of its breaker: 10,000 due
 * deliveries of one blocked endpoint sit in front of one healthy delivery in the due index, and
 * the healthy one still goes at once: well within a second, where the request timeout (10 s) is
 * what it would wait if the blocked endpoint's work filled the claims.
 */
const BACKLOG = 10_000;
/**
 * The shapes the claim skipped correctly before (at the concurrency limit, rate-limited) are
 * guarded with a smaller backlog, to keep the suite's time down: it fills every claim as well.
 */
const GUARD_BACKLOG = 2000;
const HEALTHY_WITHIN_MS = 1000;
/** Far above HEALTHY_WITHIN_MS: a claim blocked until an attempt times out shows. */
const REQUEST_TIMEOUT_SECONDS = 10;
/** Longer than any test here: a hanging receiver answers only when the test ends. */
const NEVER_MS = 120_000;

const breaker = (over: Partial<HealthPolicy>): HealthPolicy => ({
  openAfterFailures: 1,
  openBaseMs: 60_000,
  openMaxMs: 600_000,
  disableAfterMs: null,
  ...over,
});

/** Publishes `count` messages of `eventType`, a few dozen at a time. */
async function publishMany(hg: TestHookgate, appId: string, eventType: string, count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const res = await fetch(`${hg.url}/api/v1/app/${appId}/msg`, {
        method: 'POST',
        headers: { authorization: `Bearer ${hg.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ eventType, payload: { n } }),
      });
      if (res.status !== 202) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

describe.each(STORES)('a blocked endpoint never delays healthy ones (%s)', (store: StoreKind) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** Hookgate, the blocked endpoint's receiver and a healthy one, each endpoint with its own event type. */
  async function setUp(options: { health: HealthPolicy; blocked: Responder; rateLimit?: number }) {
    const hg = await startTestHookgate({
      store,
      requestTimeoutSeconds: REQUEST_TIMEOUT_SECONDS,
      retrySchedule: [60, 60, 60],
      health: options.health,
    });
    cleanup.push(() => hg.destroy());
    const blocked = await startReceiver(options.blocked);
    cleanup.push(() => blocked.close());
    const healthy = await startReceiver();
    cleanup.push(() => healthy.close());
    const app = await hg.svix.application.create({ name: 'mixed' });
    const endpoint = await hg.svix.endpoint.create(app.id, {
      url: blocked.url,
      filterTypes: ['blocked'],
      ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    });
    await hg.svix.endpoint.create(app.id, { url: healthy.url, filterTypes: ['healthy'] });
    /** Fails one attempt at the blocked endpoint and waits until it is recorded: the circuit is open. */
    const openCircuit = async () => {
      await hg.svix.message.create(app.id, { eventType: 'blocked', payload: { first: true } });
      await eventually(async () => {
        const attempts = await hg.svix.messageAttempt.listByEndpoint(app.id, endpoint.id);
        return attempts.data.length === 1;
      });
    };
    return { hg, app, blocked, healthy, openCircuit };
  }

  /** Publishes one healthy message behind the backlog; how long until its receiver has it. */
  async function healthyLatency(hg: TestHookgate, appId: string, healthy: Receiver): Promise<number> {
    const sent = Date.now();
    await hg.svix.message.create(appId, { eventType: 'healthy', payload: { healthy: true } });
    const [request] = await healthy.waitFor(1, 2 * REQUEST_TIMEOUT_SECONDS * 1000);
    return request!.at - sent;
  }

  it('half-open, its probe hanging in flight', async () => {
    // The first attempt fails and opens the circuit for a second; the probe after it never returns.
    const { hg, app, blocked, healthy, openCircuit } = await setUp({
      health: breaker({ openBaseMs: 1000 }),
      blocked: (_, n) => (n === 0 ? { status: 500 } : { status: 200, delayMs: NEVER_MS }),
    });
    await openCircuit();
    await publishMany(hg, app.id, 'blocked', BACKLOG);
    // A probe is in flight (publishing took longer than the open second).
    await eventually(() => blocked.concurrency.now === 1, 15_000);
    expect(await healthyLatency(hg, app.id, healthy)).toBeLessThan(HEALTHY_WITHIN_MS);
    // One probe at a time: nothing else went to the half-open endpoint meanwhile.
    expect(blocked.concurrency.max).toBe(1);
  }, 120_000);

  it('open', async () => {
    const { hg, app, blocked, healthy, openCircuit } = await setUp({
      health: breaker({ openBaseMs: 60_000 }),
      blocked: () => ({ status: 500 }),
    });
    await openCircuit();
    await publishMany(hg, app.id, 'blocked', BACKLOG);
    expect(await healthyLatency(hg, app.id, healthy)).toBeLessThan(HEALTHY_WITHIN_MS);
    expect(blocked.requests).toHaveLength(1);
  }, 120_000);

  it('closed, at its concurrency limit with every attempt hanging', async () => {
    const { hg, app, blocked, healthy } = await setUp({
      health: breaker({ openAfterFailures: 5 }),
      blocked: () => ({ status: 200, delayMs: NEVER_MS }),
    });
    await publishMany(hg, app.id, 'blocked', GUARD_BACKLOG);
    await blocked.waitFor(16);
    expect(await healthyLatency(hg, app.id, healthy)).toBeLessThan(HEALTHY_WITHIN_MS);
    expect(blocked.concurrency.max).toBe(16);
  }, 120_000);

  it('rate-limited', async () => {
    const { hg, app, blocked, healthy } = await setUp({
      health: breaker({ openAfterFailures: 5 }),
      blocked: () => ({ status: 200 }),
      rateLimit: 1,
    });
    await publishMany(hg, app.id, 'blocked', GUARD_BACKLOG);
    expect(await healthyLatency(hg, app.id, healthy)).toBeLessThan(HEALTHY_WITHIN_MS);
    // A bucket of one second's worth, refilled at 1/s (a bound, allowing for the test's length).
    expect(blocked.requests.length).toBeLessThan(60);
  }, 120_000);
});
