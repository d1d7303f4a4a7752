import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/store/postgres/database.js';
import { makeGroupCommit } from '../../src/store/postgres/group-commit.js';
import { createTestDatabase } from '../helpers/postgres.js';

describe('PostgreSQL group commit', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, 6);
    await pool.query('CREATE TABLE items (n INTEGER PRIMARY KEY)');
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  /** Each write inserts `n` and answers with its transaction's id. */
  const insert =
    (n: number) => async (tx: Parameters<Parameters<ReturnType<typeof makeGroupCommit>>[0]>[0]) => {
      await tx.run('INSERT INTO items (n) VALUES (?)', [n]);
      const [row] = await tx.rows<{ xid: string }>('SELECT txid_current()::text AS xid');
      return row!.xid;
    };

  it('shares the writes queued in one turn out over the free transactions', async () => {
    const commit = makeGroupCommit(pool, 4);
    const xids = await Promise.all(Array.from({ length: 10 }, (_, i) => commit(insert(i))));
    // Ten writes over four transactions: 3, 3, 2 and 2 of them (not ten in one).
    const sizes = [...new Set(xids)].map((x) => xids.filter((y) => y === x).length).sort();
    expect(sizes).toEqual([2, 2, 3, 3]);
    const { rows } = await pool.query<{ count: string }>('SELECT count(*) FROM items WHERE n < 10');
    expect(Number(rows[0]!.count)).toBe(10);
  });

  it('writes queued while every transaction is busy wait for the next one free', async () => {
    const commit = makeGroupCommit(pool, 1);
    const first = Array.from({ length: 3 }, (_, i) => commit(insert(100 + i)));
    // Queued after the first batch has started: they share the one transaction that follows.
    await new Promise((r) => setImmediate(r));
    const later = Array.from({ length: 3 }, (_, i) => commit(insert(200 + i)));
    const xids = await Promise.all([...first, ...later]);
    expect(new Set(xids.slice(0, 3)).size).toBe(1);
    expect(new Set(xids.slice(3)).size).toBe(1);
    expect(xids[0]).not.toBe(xids[3]);
  });

  it('a failing write fails alone; the others of its transaction commit', async () => {
    const commit = makeGroupCommit(pool, 1);
    const results = await Promise.allSettled([
      commit(insert(300)),
      commit(insert(301)),
      commit(insert(300)), // duplicate key
      commit(insert(302)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const { rows } = await pool.query<{ n: number }>('SELECT n FROM items WHERE n >= 300 ORDER BY n');
    expect(rows.map((r) => r.n)).toEqual([300, 301, 302]);
  });

  it('fails its writes, and lets the process live, when no connection can be had', async () => {
    // A port nothing listens on: connecting is refused at once.
    const nowhere = createPool('postgres://u:p@127.0.0.1:1/none', 1);
    try {
      const commit = makeGroupCommit(nowhere, 2);
      const results = await Promise.allSettled([commit(insert(400)), commit(insert(401))]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    } finally {
      await nowhere.end();
    }
  });
});
