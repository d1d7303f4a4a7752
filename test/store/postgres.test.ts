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
