import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { tempDir } from '../helpers/hookgate.js';
import { describeStoreConformance } from './conformance.js';

describeStoreConformance('SQLite', async () => {
  const dir = tempDir();
  const store = openSqliteStore({ path: join(dir, 'store.db') });
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
