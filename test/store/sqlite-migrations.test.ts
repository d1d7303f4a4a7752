import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { FAIL_PENDING_DELIVERIES } from '../../src/store/sql.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { tempDir } from '../helpers/hookgate.js';

describe('SQLite migrations', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('upgrades a database of the first schema in place, keeping its rows but attempts without a message', () => {
    dir = tempDir();
    const path = join(dir, 'store.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec(MIGRATIONS[0]!);
    old.pragma('user_version = 1');
    old.exec(`
      INSERT INTO messages (id, app_id, event_type, payload, created_at) VALUES ('msg_1', 'app_1', 'x', '{}', 1);
      INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, next_attempt_at, created_at, updated_at)
        VALUES ('dlv_1', 'app_1', 'msg_1', 'ep_1', 'pending', 1, 1, 1);
      -- One attempt of a message that is there, and one of a message the old retention dropped.
      INSERT INTO attempts (id, app_id, msg_id, endpoint_id, url, status_code, response, duration_ms, succeeded, manual, created_at)
        VALUES ('atmpt_1', 'app_1', 'msg_1', 'ep_1', 'http://127.0.0.1/', 500, '', 1, 0, 0, 1),
               ('atmpt_2', 'app_1', 'msg_gone', 'ep_1', 'http://127.0.0.1/', 200, '', 1, 1, 0, 1);`);
    old.close();

    const db = openDatabase(path);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").pluck().all();
      expect(indexes).toContain('deliveries_pending_by_endpoint');
      expect(indexes).toContain('deliveries_failed_by_endpoint');
      expect(indexes).not.toContain('deliveries_by_endpoint');
      expect(indexes).not.toContain('attempts_by_app');
      // The new partial index holds the row that was already waiting.
      const waiting = db
        .prepare(
          "SELECT id FROM deliveries INDEXED BY deliveries_pending_by_endpoint WHERE endpoint_id = ? AND status = 'pending'",
        )
        .pluck()
        .all('ep_1');
      expect(waiting).toEqual(['dlv_1']);
      expect(db.prepare(FAIL_PENDING_DELIVERIES).run(2, 'ep_1', 2).changes).toBe(1);
      // No attempt is left without its message: app deletion reaches attempts through messages.
      expect(db.prepare('SELECT id FROM attempts').pluck().all()).toEqual(['atmpt_1']);
    } finally {
      db.close();
    }
  });
});
