/**
 * One outcome the store refuses to record must not take the others of its batch with it, and a
 * delivery whose outcome can never be recorded is charged an attempt instead of being sent
 * forever: as the receiver answered it (a 2xx ends it a success), without the response refused.
 * The dispatcher runs against a real store of each kind, wrapped so that recording fails
 * whenever a batch holds the receiver's response to one chosen message (as PostgreSQL refused a NUL).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDispatcher } from '../../src/delivery/dispatcher.js';
import type { Sender } from '../../src/delivery/sender.js';
import { generateSecret } from '../../src/domain/signing.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import { eventually, STORES, type StoreKind, tempDir } from '../helpers/hookgate.js';
import { createTestDatabase } from '../helpers/postgres.js';

const MESSAGES = 4;
/** What the receiver answers. */
const RESPONSE = 'ok';

async function openStore(kind: StoreKind): Promise<{ store: Store; close: () => Promise<void> }> {
  if (kind === 'postgres') {
    const db = await createTestDatabase();
    const store = await openPostgresStore({ connectionString: db.url });
    const close = async () => {
      await store.close();
      await db.drop();
    };
    return { store, close };
  }
  const dir = tempDir();
  const store = openSqliteStore({ path: join(dir, 'hookgate.db') });
  const close = async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { store, close };
}

/**
 * The store, except that recording throws for any batch with the receiver's response to an
 * attempt of `msgId` (as PostgreSQL refused a NUL in it).
 */
function refusingOutcomesOf(store: Store, msgId: () => string): Store {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'recordOutcomes') {
        return ((outcomes, health) =>
          outcomes.some((o) => o.attempt.msgId === msgId() && o.attempt.response === RESPONSE)
            ? Promise.reject(new Error('invalid byte sequence (forced)'))
            : target.recordOutcomes(outcomes, health)) satisfies Store['recordOutcomes'];
      }
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe.each(STORES)('dispatcher: an outcome the store cannot record (%s)', (kind) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('records the others of its batch, sends it again, and charges it as answered, without its response, after repeated failures', async () => {
    const { store, close } = await openStore(kind);
    cleanup.push(close);
    const app = await store.createApp({ name: 'hooks', uid: null, metadata: {}, rateLimit: null });
    await store.createEndpoint(app.id, {
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
    const ids: string[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const { message } = await store.publish(
        app.id,
        { eventType: 'e', eventId: null, payload: `{"i":${i}}`, channels: null },
        Date.now(),
      );
      ids.push(message.id);
    }
    const bad = ids[1]!;
    const sent: string[] = [];
    const sender: Sender = {
      send: async (req) => {
        sent.push(String(req.headers['webhook-id']));
        return {
          statusCode: 200,
          response: RESPONSE,
          durationMs: 1,
          retryAfter: undefined,
          deliveryControl: undefined,
        };
      },
      close: async () => {},
    };
    const errors: Error[] = [];
    const dispatcher = startDispatcher({
      store: refusingOutcomesOf(store, () => bad),
      sender,
      retrySchedule: [],
      requestTimeoutMs: 1000,
      leaseMarginMs: 500,
      onError: (e) => errors.push(e),
    });
    cleanup.push(() => dispatcher.stop(1000));

    const attemptsOf = async (msgId: string) =>
      (
        await store.listAttempts(
          app.id,
          {
            msgId,
            status: null,
            statusCodeClass: null,
            since: null,
            until: null,
            eventTypes: null,
            channel: null,
          },
          { limit: 10, iterator: null, order: 'ascending' },
        )
      ).data;
    // The others are recorded once each, though they were answered in a batch with the bad one.
    await eventually(async () => {
      for (const id of ids) if (id !== bad && (await attemptsOf(id)).length !== 1) return false;
      return true;
    });
    for (const id of ids.filter((i) => i !== bad)) expect(sent.filter((s) => s === id)).toHaveLength(1);
    // The bad one is sent again until its third failure to record, then charged as the receiver
    // answered (a success: nothing more is sent), with why in place of the response it refused.
    const [charged] = await eventually(async () => {
      const attempts = await attemptsOf(bad);
      return attempts.length > 0 ? attempts : null;
    }, 20_000);
    expect(charged).toMatchObject({ responseStatusCode: 200, succeeded: true });
    expect(String(charged!.response)).toContain('could not be recorded');
    expect(sent.filter((s) => s === bad)).toHaveLength(3);
    const [delivery] = (
      await store.listDeliveriesOfMessage(app.id, bad, { limit: 10, iterator: null, order: 'ascending' })
    ).data;
    expect(delivery!.status).toBe('success');
    await new Promise((r) => setTimeout(r, 1500));
    expect(sent.filter((s) => s === bad)).toHaveLength(3);
    expect(errors.some((e) => e.message.includes('forced'))).toBe(true);
  }, 30_000);
});
