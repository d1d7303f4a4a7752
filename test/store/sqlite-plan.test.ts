import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFER_ENDPOINT_DELIVERIES,
  DELETE_APP_ATTEMPTS,
  DELETE_APP_DELIVERIES,
  FAIL_PENDING_DELIVERIES,
  RECOVER_DELIVERIES,
  RELEASE_HELD,
} from '../../src/store/sql.js';
import { type Db, openDatabase } from '../../src/store/sqlite/database.js';
import { tempDir } from '../helpers/hookgate.js';

/**
 * The queries that find an endpoint's or an application's rows stay index searches without the
 * write-path indexes dropped in migration 2 (deliveries_by_endpoint, attempts_by_app), through
 * the partial indexes of pending and of failed rows it added.
 */
describe('SQLite query plans without per-status and per-application indexes', () => {
  let dir = '';
  let db: Db;

  beforeAll(() => {
    dir = tempDir();
    db = openDatabase(join(dir, 'store.db'));
    // 200,000 deliveries over 97 endpoints: a tenth pending, a tenth failed, the rest succeeded.
    db.exec(`
      WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 200000)
      INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, next_attempt_at, created_at, updated_at)
      SELECT printf('dlv_%012d', i), 'app_' || (i % 10), printf('msg_%012d', i), 'ep_' || (i % 97),
             CASE WHEN i % 10 = 0 THEN 'pending' WHEN i % 10 = 1 THEN 'failed' ELSE 'succeeded' END,
             CASE WHEN i % 10 = 0 THEN i ELSE NULL END, i, i
      FROM s`);
  });

  afterAll(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const plan = (sql: string, params: unknown[]) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>)
      .map((r) => r.detail)
      .join('\n');

  it("finds an endpoint's waiting deliveries through the pending rows alone", () => {
    const now = Date.now();
    for (const [sql, params] of [
      [DEFER_ENDPOINT_DELIVERIES, [now, 'ep_1', now, now]],
      [FAIL_PENDING_DELIVERIES, [now, 'ep_1', now]],
      // Closing a circuit releases what it held back.
      [RELEASE_HELD, [now, 'ep_1']],
    ] as const) {
      expect(plan(sql, [...params])).toMatch(/SEARCH deliveries USING INDEX deliveries_pending_by_endpoint/);
    }
  });

  it("recovers an endpoint's failed deliveries in a time range through the failed rows alone", () => {
    const now = Date.now();
    const p = plan(`${RECOVER_DELIVERIES} AND created_at >= ?`, [now, now, 'app_1', 'ep_1', 1000]);
    expect(p).toMatch(
      /SEARCH deliveries USING INDEX deliveries_failed_by_endpoint \(endpoint_id=\? AND created_at>\?\)/,
    );
  });

  it("deletes an application's deliveries and attempts through its messages, scanning neither table", () => {
    for (const sql of [DELETE_APP_DELIVERIES, DELETE_APP_ATTEMPTS]) {
      const p = plan(sql, ['app_1']);
      expect(p).toMatch(/SEARCH messages USING COVERING INDEX messages_by_app/);
      expect(p).toMatch(/SEARCH (deliveries|attempts) USING COVERING INDEX/);
      expect(p).not.toMatch(/SCAN (deliveries|attempts)/);
    }
  });
});
