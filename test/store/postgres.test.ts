import { describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { describeStoreConformance } from './conformance.js';

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
      await a.createEndpoint(app.id, {
        url: 'http://127.0.0.1/',
        uid: null,
        description: '',
        disabled: false,
        eventTypes: null,
        channels: null,
        metadata: {},
        rateLimit: null,
        secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
      });
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
