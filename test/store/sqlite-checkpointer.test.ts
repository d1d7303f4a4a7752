import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTOCHECKPOINT_PAGES } from '../../src/store/sqlite/checkpointer.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
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

  it('closes completely in a process with nothing else to keep it running', () => {
    dir = tempDir();
    const path = join(dir, 'store.db');
    // A script of its own: under the test runner something else always keeps the process alive.
    const store = new URL('../../dist/store/sqlite/index.js', import.meta.url).href;
    const script = `const { openSqliteStore } = await import(${JSON.stringify(store)});
      const s = openSqliteStore({ path: ${JSON.stringify(path)} });
      await s.createApp({ name: 'a', uid: null, metadata: {}, rateLimit: null });
      await s.close();
      console.log('closed');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe('closed');
    // The last connection closed: the WAL is folded into the database file and removed.
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('lets the WAL keep the size it cycles through under steady load', () => {
    dir = tempDir();
    const db = openDatabase(join(dir, 'store.db'));
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    // Each cycle fills about AUTOCHECKPOINT_PAGES frames before the WAL starts over; a limit
    // below that would cut the file, and stall the event loop, on every cycle.
    expect(db.pragma('journal_size_limit', { simple: true })).toBeGreaterThan(
      AUTOCHECKPOINT_PAGES * (pageSize + 24),
    );
    db.close();
  });
});
