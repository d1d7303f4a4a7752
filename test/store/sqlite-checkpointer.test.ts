import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { eventually, tempDir } from '../helpers/hookgate.js';

describe('SQLite background checkpoints', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies committed pages into the database file off the event loop, and leaves no WAL at close', async () => {
    dir = tempDir();
    const path = join(dir, 'store.db');
    const store = openSqliteStore({ path });
    const before = statSync(path).size;
    // A few hundred pages: far below AUTOCHECKPOINT_PAGES, so no commit checkpoints by itself.
    for (let i = 0; i < 200; i++) {
      await store.createApp({
        name: `app ${i} ${'x'.repeat(200)}`,
        uid: null,
        rateLimit: null,
        metadata: {},
      });
    }
    // Only the checkpointer thread writes the database file itself.
    await eventually(() => statSync(path).size > before + 40 * 1024);
    await store.close();
    // The last connection to close removes the WAL: the thread's connection closed first.
    expect(existsSync(`${path}-wal`)).toBe(false);
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM apps').pluck().get()).toBe(200);
    db.close();
  });
});
