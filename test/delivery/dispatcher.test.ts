/**
 * The dispatcher against a real SQLite store, with a scripted sender in place of the network.
 * The `onAttempt` hook (operational events): called once an outcome is recorded, and whatever it
 * does (throw, reject, never settle) delivery goes on and `stop` keeps its deadline. Lost sends
 * (a sender thread that died before answering): tried again without using an attempt, and
 * charged as a failed attempt only when a delivery's sends keep being lost.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AttemptRecorded, startDispatcher } from '../../src/delivery/dispatcher.js';
import type { LostSend, Sender, SendResult } from '../../src/delivery/sender.js';
import { generateSecret } from '../../src/domain/signing.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import { eventually, STORES, type StoreKind, tempDir } from '../helpers/hookgate.js';
import { createTestDatabase } from '../helpers/postgres.js';

/**
 * A sender whose n-th send (from 0) answers 200 changed by `answer(n)`, or is lost when
 * `answer(n)` says so; it notes when each send left.
 */
function fakeSender(answer: (n: number) => Partial<SendResult> | LostSend): Sender & { sentAt: number[] } {
  const sentAt: number[] = [];
  return {
    sentAt,
    send: async () => {
      const given = answer(sentAt.push(Date.now()) - 1);
      if ('lost' in given) return given;
      return {
        statusCode: 200,
        response: '',
        durationMs: 1,
        retryAfter: undefined,
        deliveryControl: undefined,
        ...given,
      };
    },
    close: async () => {},
  };
}

/** A fresh, empty store of the kind asked for, closed and removed by the test's cleanup. */
async function openFreshStore(kind: StoreKind, cleanup: Array<() => Promise<void> | void>): Promise<Store> {
  if (kind === 'postgres') {
    const database = await createTestDatabase();
    cleanup.push(() => database.drop());
    const store = await openPostgresStore({ connectionString: database.url, poolSize: 4 });
    cleanup.push(() => store.close());
    return store;
  }
  const dir = tempDir();
  const store = openSqliteStore({ path: join(dir, 'hookgate.db') });
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanup.push(() => store.close());
  return store;
}

describe.each(STORES)('dispatcher (%s)', (kind) => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function storeWithMessages(
    count: number,
  ): Promise<{ store: Store; appId: string; endpointId: string }> {
    const store = await openFreshStore(kind, cleanup);
    const app = await store.createApp({ name: 'hooks', uid: null, metadata: {}, rateLimit: null });
    const endpoint = await store.createEndpoint(app.id, {
      url: 'http://127.0.0.1:9/never-dialed',
      uid: null,
      description: '',
      disabled: false,
      eventTypes: null,
      channels: null,
      metadata: {},
      rateLimit: null,
      secret: generateSecret(),
    });
    for (let i = 0; i < count; i++)
      await store.publish(
        app.id,
        { eventType: 'e', eventId: null, payload: `{"i":${i}}`, channels: null },
        Date.now(),
      );
    return { store, appId: app.id, endpointId: endpoint.id };
  }

  it('calls the hook after the outcome is recorded, with the attempt number and the receiver control', async () => {
    const { store, appId, endpointId } = await storeWithMessages(1);
    const seen: Array<AttemptRecorded & { recorded: boolean }> = [];
    const dispatcher = startDispatcher({
      store,
      sender: fakeSender((n) =>
        n < 2 ? { statusCode: 503 } : { statusCode: 500, deliveryControl: 'abort-message' },
      ),
      retrySchedule: [0, 0, 0],
      idlePollMs: 50,
      requestTimeoutMs: 1000,
      onAttempt: (r) =>
        store
          .getAttempt(appId, r.attempt.msgId, r.attempt.id)
          .then((a) => void seen.push({ ...r, recorded: a !== null })),
    });
    cleanup.push(() => dispatcher.stop(1000));
    await eventually(() => seen.length === 3);
    expect(seen.map((s) => [s.attemptNumber, s.next.kind, s.control, s.recorded])).toEqual([
      [1, 'retry', null, true],
      [2, 'retry', null, true],
      [3, 'failed', 'abort-message', true],
    ]);
    expect(await store.endpointStats(appId, endpointId, { since: null, until: null })).toMatchObject({
      fail: 1,
      pending: 0,
    });
  });

  it('keeps delivering when the hook throws, rejects or never settles, and stop keeps its deadline', async () => {
    const count = 60;
    const { store, appId, endpointId } = await storeWithMessages(count);
    const errors: Error[] = [];
    let calls = 0;
    const dispatcher = startDispatcher({
      store,
      sender: fakeSender(() => ({ statusCode: 200 })),
      retrySchedule: [],
      requestTimeoutMs: 1000,
      onError: (e) => errors.push(e),
      onAttempt: () => {
        const n = calls++;
        if (n % 3 === 0) throw new Error('hook threw');
        if (n % 3 === 1) return Promise.reject(new Error('hook rejected'));
        return new Promise<void>(() => {}); // never settles
      },
    });
    await eventually(
      async () =>
        (await store.endpointStats(appId, endpointId, { since: null, until: null })).success === count,
    );
    expect(calls).toBe(count);
    const started = Date.now();
    await dispatcher.stop(300);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(errors.map((e) => e.message).sort()).toEqual(
      [...Array(count / 3).fill('hook rejected'), ...Array(count / 3).fill('hook threw')].sort(),
    );
  });

  it('keeps delivering when the metrics observer throws, and reports each throw', async () => {
    const count = 20;
    const { store, appId, endpointId } = await storeWithMessages(count);
    const errors: Error[] = [];
    const told = { claimed: 0, attempted: 0, recorded: 0 };
    const dispatcher = startDispatcher({
      store,
      sender: fakeSender(() => ({ statusCode: 200 })),
      retrySchedule: [],
      requestTimeoutMs: 1000,
      onError: (e) => errors.push(e),
      observer: {
        claimed: () => {
          told.claimed++;
          throw new Error('claimed threw');
        },
        attempted: () => {
          told.attempted++;
          throw new Error('attempted threw');
        },
        recorded: () => {
          told.recorded++;
          throw new Error('recorded threw');
        },
      },
    });
    cleanup.push(() => dispatcher.stop(1000));
    // Every delivery attempted once and recorded: a throw neither dropped an outcome nor held a lease.
    await eventually(
      async () =>
        (await store.endpointStats(appId, endpointId, { since: null, until: null })).success === count,
    );
    expect(told.attempted).toBe(count);
    expect(told.claimed).toBeGreaterThan(0);
    expect(told.recorded).toBeGreaterThan(0);
    const page = await store.listAttempts(appId, { ...ALL_ATTEMPTS, endpointId }, FIRST_PAGE);
    expect(page.data).toHaveLength(count);
    const messages = new Set(errors.map((e) => e.message));
    expect(messages).toEqual(new Set(['claimed threw', 'attempted threw', 'recorded threw']));
  });

  it("tells the observer of a delivery's lost sends only when one is charged as a failed attempt", async () => {
    const { store, appId, endpointId } = await storeWithMessages(1);
    const attempted: boolean[] = [];
    const dispatcher = startDispatcher({
      store,
      sender: fakeSender(() => ({ lost: 'sender thread died' })),
      retrySchedule: [60],
      idlePollMs: 50,
      requestTimeoutMs: 1000,
      observer: { claimed: () => {}, attempted: (_ms, ok) => attempted.push(ok), recorded: () => {} },
    });
    cleanup.push(() => dispatcher.stop(1000));
    await eventually(async () => {
      const page = await store.listAttempts(appId, { ...ALL_ATTEMPTS, endpointId }, FIRST_PAGE);
      return page.data.length > 0;
    });
    expect(attempted).toEqual([false]);
  });

  it('records at stop an answer that came back while answers were still being gathered', async () => {
    const { store, appId, endpointId } = await storeWithMessages(1);
    let answer: (() => void) | null = null;
    const sent = new Promise<void>((resolveSent) => {
      const sender: Sender = {
        send: () =>
          new Promise<SendResult>((resolve) => {
            answer = () =>
              resolve({
                statusCode: 200,
                response: 'ok',
                durationMs: 1,
                retryAfter: undefined,
                deliveryControl: undefined,
              });
            resolveSent();
          }),
        close: async () => {},
      };
      const dispatcher = startDispatcher({
        store,
        sender,
        retrySchedule: [],
        idlePollMs: 50,
        requestTimeoutMs: 1000,
      });
      cleanup.push(async () => {
        await sent;
        answer!();
        // Stop in the same turn as the answer: the gathering timer has not fired yet.
        await dispatcher.stop(1000);
      });
    });
    await sent;
    await cleanup.pop()!();
    expect(await store.endpointStats(appId, endpointId, { since: null, until: null })).toMatchObject({
      success: 1,
      pending: 0,
      sending: 0,
    });
  });

  /** A dispatcher whose retries are a minute away, so any send sooner is a lost one tried again. */
  function startWithMinuteRetries(store: Store, sender: Sender) {
    const dispatcher = startDispatcher({
      store,
      sender,
      retrySchedule: [60],
      idlePollMs: 50,
      requestTimeoutMs: 1000,
    });
    cleanup.push(() => dispatcher.stop(1000));
  }

  const ALL_ATTEMPTS = {
    status: null,
    statusCodeClass: null,
    eventTypes: null,
    channel: null,
    since: null,
    until: null,
  };
  const FIRST_PAGE = { limit: 50, iterator: null, order: 'ascending' } as const;

  it('tries a lost send again one to three seconds later without using an attempt', async () => {
    const { store, appId, endpointId } = await storeWithMessages(1);
    const sender = fakeSender((n) => (n === 0 ? { lost: 'sender thread died' } : { response: 'ok' }));
    startWithMinuteRetries(store, sender);
    await eventually(
      async () => (await store.endpointStats(appId, endpointId, { since: null, until: null })).success === 1,
    );
    expect(sender.sentAt).toHaveLength(2);
    expect(sender.sentAt[1]! - sender.sentAt[0]!).toBeGreaterThanOrEqual(900);
    expect(sender.sentAt[1]! - sender.sentAt[0]!).toBeLessThan(3500);
    const attempts = await store.listAttempts(appId, { ...ALL_ATTEMPTS, endpointId }, FIRST_PAGE);
    expect(attempts.data.map((a) => [a.responseStatusCode, a.response])).toEqual([[200, 'ok']]);
  });

  it("charges a delivery's third lost send in a row as a failed attempt, so it cannot loop forever", async () => {
    const { store, appId, endpointId } = await storeWithMessages(1);
    const sender = fakeSender(() => ({ lost: 'sender thread died' }));
    startWithMinuteRetries(store, sender);
    const attempts = await eventually(async () => {
      const page = await store.listAttempts(appId, { ...ALL_ATTEMPTS, endpointId }, FIRST_PAGE);
      return page.data.length > 0 ? page.data : null;
    });
    expect(sender.sentAt).toHaveLength(3);
    expect(attempts.map((a) => [a.responseStatusCode, a.response, a.succeeded])).toEqual([
      [0, 'sender thread died', false],
    ]);
    // One attempt of the schedule used: the next one is the scheduled retry, a minute away (less
    // up to 20% jitter), not a lost send's second.
    const [delivery] = (await store.listDeliveriesOfMessage(appId, attempts[0]!.msgId, FIRST_PAGE)).data;
    expect(delivery).toMatchObject({ status: 'pending' });
    expect(delivery!.nextAttemptAt! - Date.now()).toBeGreaterThan(40_000);
  });
});
