import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HEALTH_POLICY } from '../../src/domain/health.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { describeStoreConformance, endpointInput } from './conformance.js';

type StoreOptions = Omit<Parameters<typeof openPostgresStore>[0], 'connectionString'>;

/** Runs `test` with a store on a database of its own, closed and dropped afterwards. */
async function withStore(
  options: StoreOptions,
  test: (store: Store, url: string) => Promise<void>,
): Promise<void> {
  const db = await createTestDatabase();
  const store = await openPostgresStore({ connectionString: db.url, ...options });
  try {
    await test(store, db.url);
  } finally {
    await store.close();
    await db.drop();
  }
}

const ENDPOINT = endpointInput('http://127.0.0.1/');

describeStoreConformance('PostgreSQL', async () => {
  const db = await createTestDatabase();
  const store = await openPostgresStore({ connectionString: db.url });
  return {
    store,
    close: async () => {
      await store.close();
      await db.drop();
    },
  };
});

describe('PostgreSQL LISTEN/NOTIFY', () => {
  it('wakes a node when another node commits due work, and not for writes that make none', async () => {
    const db = await createTestDatabase();
    const a = await openPostgresStore({ connectionString: db.url });
    const b = await openPostgresStore({ connectionString: db.url });
    try {
      const app = await a.createApp({ name: 'n', uid: null, metadata: {}, rateLimit: null });
      await a.createEndpoint(app.id, ENDPOINT);
      let woken = 0;
      b.onDue(() => woken++);
      await new Promise((r) => setTimeout(r, 200)); // LISTEN is set up in the background
      await a.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: null }, Date.now());
      const deadline = Date.now() + 5000;
      while (woken === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(woken).toBe(1);
      // A publish that fails (unknown app is fine, so use a duplicate uid on app creation) notifies nobody.
      await expect(
        a.createApp({ name: 'dup', uid: null, metadata: {}, rateLimit: null }),
      ).resolves.toBeDefined();
      await new Promise((r) => setTimeout(r, 200));
      expect(woken).toBe(1);
    } finally {
      await a.close();
      await b.close();
      await db.drop();
    }
  });
});

describe('PostgreSQL prepared statements', () => {
  it('keep working when another node adds columns to their tables (a rolling upgrade)', async () => {
    // One connection: every statement below is prepared on it by the first round.
    await withStore({ poolSize: 1, concurrentCommits: 1 }, async (store, url) => {
      const other = new pg.Client({ connectionString: url });
      await other.connect();
      try {
        const app = await store.createApp({ name: 'n', uid: 'the-app', metadata: {}, rateLimit: null });
        await store.createEndpoint(app.id, ENDPOINT);
        await store.saveAppToken('hash', { appId: app.id, readOnly: false }, Date.now() + 60_000);
        const round = async (k: number) => {
          expect((await store.getApp('the-app'))?.id).toBe(app.id);
          expect(await store.findAppToken('hash', Date.now())).toEqual({ appId: app.id, readOnly: false });
          const key = { scope: 'scope', key: `key${k}`, owner: `o${k}` };
          expect(await store.reserveIdempotencyKey(key, Date.now(), Date.now() + 10_000)).toEqual({
            state: 'reserved',
          });
          expect(await store.renewIdempotencyKey(key, Date.now() + 20_000)).toBe(true);
          expect(await store.finishIdempotencyKey(key, { statusCode: 202, body: '{}' })).toBe(true);
          expect(await store.reserveIdempotencyKey({ ...key, owner: 'x' }, Date.now(), Date.now())).toEqual({
            state: 'finished',
            response: { statusCode: 202, body: '{}' },
          });
          await store.releaseIdempotencyKey(key);
          const at = Date.now();
          const input = { eventType: 'x', eventId: `e${k}`, payload: '{}', channels: null };
          const { message } = await store.publish(app.id, input, at);
          // The same eventId again: answered by the look-up by event id.
          expect((await store.publish(app.id, input, at)).created).toBe(false);
          const [claimed] = await store.claimDue({
            leaseId: `l${k}`,
            now: at,
            leaseUntil: at + 10_000,
            limit: 10,
            inFlightByEndpoint: new Map(),
            perEndpointLimit: 10,
          });
          expect(claimed?.msgId).toBe(message.id);
          const attempt = {
            id: `atmpt_${k}`,
            appId: app.id,
            msgId: message.id,
            endpointId: claimed!.endpointId,
            url: 'http://127.0.0.1/',
            responseStatusCode: 200,
            response: '',
            durationMs: 1,
            succeeded: true,
            trigger: 'scheduled' as const,
            createdAt: at,
          };
          await store.recordOutcomes(
            [{ leaseId: `l${k}`, deliveryId: claimed!.deliveryId, attempt, next: { kind: 'succeeded' } }],
            DEFAULT_HEALTH_POLICY,
          );
          expect(await store.nextWakeAt()).toBeNull();
        };
        await round(1);
        for (const table of [
          'apps',
          'endpoints',
          'messages',
          'deliveries',
          'attempts',
          'app_tokens',
          'idempotency',
        ]) {
          await other.query(`ALTER TABLE ${table} ADD COLUMN added_later TEXT`);
        }
        await round(2);
      } finally {
        await other.end();
      }
    });
  });
});

describe('PostgreSQL connections', () => {
  it('goes on when PostgreSQL ends an idle pooled connection, and reports it', async () => {
    const errors: Error[] = [];
    await withStore({ poolSize: 1, onError: (e) => errors.push(e) }, async (store, url) => {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        const app = await store.createApp({ name: 'n', uid: null, metadata: {}, rateLimit: null });
        // Ends every other session of the database: the pool's idle connection and the LISTEN one.
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        const deadline = Date.now() + 5000;
        while (errors.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        // Both reported (admin_shutdown): the LISTEN connection's end and the pooled one's.
        expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['57P01', '57P01']);
        expect((await store.getApp(app.id))?.id).toBe(app.id);
      } finally {
        await admin.end();
      }
    });
  });
});

describe('PostgreSQL look-ups made together', () => {
  it('fail one by one: a key PostgreSQL refuses fails its own look-up only', async () => {
    await withStore({}, async (store) => {
      const app = await store.createApp({ name: 'n', uid: 'the-app', metadata: {}, rateLimit: null });
      const results = await Promise.allSettled([
        store.getApp(app.id),
        store.getApp('bad\u0000'),
        store.getApp('the-app'),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(results.map((r) => (r.status === 'fulfilled' ? r.value?.id : null))).toEqual([
        app.id,
        null,
        app.id,
      ]);
    });
  });
});

describe('PostgreSQL publishes made together', () => {
  it('fail one by one: a publish PostgreSQL refuses takes none of the others with it', async () => {
    await withStore({}, async (store) => {
      const app = await store.createApp({ name: 'n', uid: null, metadata: {}, rateLimit: null });
      const publish = (eventType: string, eventId: string) =>
        store.publish(app.id, { eventType, eventId, payload: '{}', channels: null }, Date.now());
      // PostgreSQL's text refuses a NUL character; the others of the batch are stored.
      const results = await Promise.allSettled([
        publish('a', 'e1'),
        publish('bad\u0000', 'e2'),
        publish('c', 'e3'),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      for (const eventId of ['e1', 'e3']) expect(await store.getMessage(app.id, eventId)).not.toBeNull();
      expect(await store.getMessage(app.id, 'e2')).toBeNull();
    });
  });
});
