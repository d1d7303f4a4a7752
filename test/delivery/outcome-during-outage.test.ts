/**
 * An outcome that cannot be recorded because the store is failing as a whole (the database is
 * away, the disk is full) is not the outcome's fault: however often that happens to one delivery
 * (a database coming and going), it is never charged a failed attempt, and the receiver's own
 * answer is what is recorded in the end. Contrast unrecordable-outcome.test.ts, where the store
 * refuses one outcome's data. The store is real, wrapped so that recording answers the storage
 * fault for the first few batches holding the chosen delivery's answer.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDispatcher } from '../../src/delivery/dispatcher.js';
import type { Sender } from '../../src/delivery/sender.js';
import { generateSecret } from '../../src/domain/signing.js';
import { storageError } from '../../src/store/health.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import { eventually, STORES, type StoreKind, tempDir } from '../helpers/hookgate.js';
import { createTestDatabase } from '../helpers/postgres.js';

/** More outages than the refusals after which an outcome the store refuses is charged (3). */
const OUTAGES = 4;

async function openStore(kind: StoreKind): Promise<{ store: Store; close: () => Promise<void> }> {
  if (kind === 'postgres') {
    const db = await createTestDatabase();
    const store = await openPostgresStore({ connectionString: db.url });
    return {
      store,
      close: async () => {
        await store.close();
        await db.drop();
      },
    };
  }
  const dir = tempDir();
  const store = openSqliteStore({ path: join(dir, 'hookgate.db') });
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The store, except that its first `outages` recordings of an answer fail as a database outage. */
function failingAsAWhole(store: Store, outages: number): Store {
  let left = outages;
  return new Proxy(store, {
    get(target, key) {
      if (key === 'recordOutcomes') {
        return ((outcomes, health) => {
          if (left > 0 && outcomes.some((o) => o.attempt.responseStatusCode !== 0)) {
            left--;
            return Promise.reject(storageError('database_unavailable', new Error('ECONNREFUSED (forced)')));
          }
          return target.recordOutcomes(outcomes, health);
        }) satisfies Store['recordOutcomes'];
      }
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe.each(STORES)('dispatcher: outcomes lost to a storage outage (%s)', (kind) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('are never charged as failed attempts: the receiver’s answer is recorded once the store takes it', async () => {
    const { store, close } = await openStore(kind);
    cleanup.push(close);
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
    const { message } = await store.publish(
      app.id,
      { eventType: 'e', eventId: null, payload: '{}', channels: null },
      Date.now(),
    );
    let sent = 0;
    const sender: Sender = {
      send: async () => {
        sent++;
        return {
          statusCode: 200,
          response: 'ok',
          durationMs: 1,
          retryAfter: undefined,
          deliveryControl: undefined,
        };
      },
      close: async () => {},
    };
    const dispatcher = startDispatcher({
      store: failingAsAWhole(store, OUTAGES),
      sender,
      retrySchedule: [],
      requestTimeoutMs: 300,
      leaseMarginMs: 200,
      idlePollMs: 100,
    });
    cleanup.push(() => dispatcher.stop(1000));

    const attempts = await eventually(async () => {
      const page = await store.listAttempts(
        app.id,
        {
          msgId: message.id,
          status: null,
          statusCodeClass: null,
          since: null,
          until: null,
          eventTypes: null,
          channel: null,
        },
        { limit: 10, iterator: null, order: 'ascending' },
      );
      return page.data.length > 0 ? page.data : null;
    }, 20_000);
    expect(attempts.map((a) => [a.responseStatusCode, a.succeeded])).toEqual([[200, true]]);
    expect(sent).toBe(OUTAGES + 1);
    const [delivery] = (
      await store.listDeliveriesOfMessage(app.id, message.id, {
        limit: 10,
        iterator: null,
        order: 'ascending',
      })
    ).data;
    expect(delivery!.status).toBe('success');
    expect((await store.getEndpoint(app.id, endpoint.id))?.disabled).toBe(false);
  }, 30_000);
});
