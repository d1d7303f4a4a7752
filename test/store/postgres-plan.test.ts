import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { numbered, preparedStatements, SESSION_OPTIONS } from '../../src/store/postgres/database.js';
import { CLAIM_CANDIDATES } from '../../src/store/postgres/dispatch.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { DEFER_ENDPOINT_DELIVERIES, FAIL_PENDING_DELIVERIES, RELEASE_HELD } from '../../src/store/sql.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase } from '../helpers/postgres.js';

/** The hot queries stay index scans on a table of a million deliveries. */
describe('PostgreSQL query plans at a million deliveries', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let store: Store;
  let client: pg.Client;
  const now = Date.now();

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await openPostgresStore({ connectionString: db.url, poolSize: 2 });
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    // 1,000,000 deliveries over 1,000 endpoints: 900k finished, 100k pending (half of them due).
    await client.query(
      `
      INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, next_attempt_at, created_at, updated_at)
      SELECT 'dlv_' || lpad(i::text, 12, '0'), 'app_x', 'msg_' || i, 'ep_' || (i % 1000),
             CASE WHEN i % 10 = 0 THEN 'pending' ELSE 'succeeded' END,
             CASE WHEN i % 10 = 0 THEN $1::bigint + (i % 20 - 10) * 60000 ELSE NULL END,
             $1::bigint, $1::bigint
      FROM generate_series(1, 1000000) AS i`,
      [now],
    );
    await client.query('ANALYZE deliveries');
  }, 120_000);

  afterAll(async () => {
    await client?.end();
    await store?.close();
    await db?.drop();
  });

  it('claims due deliveries through the deliveries_due index, never a sequential scan', async () => {
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${numbered(CLAIM_CANDIDATES)}`, [
      now,
      now,
      ['ep_1', 'ep_2'],
      200,
    ]);
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Index (Only )?Scan using deliveries_due on deliveries/);
    expect(plan).not.toMatch(/Seq Scan on deliveries/);
  });

  it('claims through deliveries_due with the generic plan too (the claim is a prepared statement)', async () => {
    // After five runs PostgreSQL may plan a prepared statement once for any parameters.
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (GENERIC_PLAN) ${numbered(CLAIM_CANDIDATES)}`,
    );
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Index (Only )?Scan using deliveries_due on deliveries/);
    expect(plan).not.toMatch(/Seq Scan on deliveries/);
  });

  it("finds an endpoint's waiting deliveries (circuit opening, disabling) through an index, never a sequential scan", async () => {
    const until = now + 60_000;
    for (const [sql, params] of [
      [DEFER_ENDPOINT_DELIVERIES, [until, 'ep_10', now, until]],
      [FAIL_PENDING_DELIVERIES, [now, 'ep_10', now]],
      [RELEASE_HELD, [now, 'ep_10']],
    ] as const) {
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${numbered(sql)}`, [...params]);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      // With skip scans (PostgreSQL 18) deliveries_due serves the one with a due bound as well.
      expect(plan).toMatch(
        /Index (Only )?Scan using deliveries_(pending_by_endpoint|due)|Bitmap Index Scan on deliveries_pending_by_endpoint/,
      );
      expect(plan).not.toMatch(/Seq Scan on deliveries/);
    }
  });

  it('plans every prepared statement, for any parameters, through indexes bounded by them', async () => {
    expect(await unboundedScansOfPrepared(client)).toEqual([]);
  });

  it('claims a batch from that table', async () => {
    const claimed = await client.query(numbered(CLAIM_CANDIDATES), [now, now, [], 200]);
    expect(claimed.rowCount).toBe(200);
  });
});

/** A plan node of EXPLAIN (FORMAT JSON). */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

/** Scans of a table that read more than the parameters select: sequential, or a whole index. */
function unboundedScans(node: PlanNode, underLimit = false): string[] {
  const limited = underLimit || node['Node Type'] === 'Limit';
  const own: string[] = [];
  if (node['Node Type'] === 'Seq Scan') own.push(`Seq Scan on ${node['Relation Name']}`);
  if (/Index (Only )?Scan$/.test(node['Node Type']) && !node['Index Cond'] && !limited) {
    own.push(`${node['Node Type']} using ${node['Index Name']} without a condition`);
  }
  return [...own, ...(node.Plans ?? []).flatMap((n) => unboundedScans(n, limited))];
}

/** The unbounded scans in the generic plans of every prepared statement, each with its SQL. */
async function unboundedScansOfPrepared(client: pg.Client): Promise<string[]> {
  const statements = preparedStatements();
  expect(statements.length).toBeGreaterThan(10);
  const found: string[] = [];
  for (const p of statements) {
    const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
      `EXPLAIN (GENERIC_PLAN, FORMAT JSON) ${numbered(p.sql)}`,
    );
    for (const scan of unboundedScans(rows[0]!['QUERY PLAN'][0]!.Plan)) found.push(`${scan}: ${p.sql}`);
  }
  return found;
}

/**
 * A prepared statement may be planned once for all parameters, and PostgreSQL may do so while
 * its tables are still small (a fresh install, its first publishes): that plan is then kept as
 * they grow. Every plan made on small tables must already be one that stays cheap at any size.
 */
describe('PostgreSQL prepared statements planned on small tables', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let store: Store;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await openPostgresStore({ connectionString: db.url, poolSize: 1 });
    // Planned as the store's sessions plan.
    client = new pg.Client({ connectionString: db.url, options: SESSION_OPTIONS });
    await client.connect();
    // A few rows each, vacuumed: tables of a page, where a sequential scan is cheapest.
    await client.query(`INSERT INTO apps (id, name, metadata, created_at, updated_at)
      SELECT 'app_' || i, 'n', '{}', 0, 0 FROM generate_series(1, 20) AS i`);
    await client.query(`INSERT INTO messages (id, app_id, event_type, payload, created_at)
      SELECT 'msg_' || i, 'app_1', 'x', '{}', 0 FROM generate_series(1, 20) AS i`);
    await client.query(`INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, next_attempt_at, created_at, updated_at)
      SELECT 'dlv_' || i, 'app_1', 'msg_' || i, 'ep_1', 'pending', 0, 0, 0 FROM generate_series(1, 20) AS i`);
    await client.query('VACUUM ANALYZE');
  });

  afterAll(async () => {
    await client?.end();
    await store?.close();
    await db?.drop();
  });

  it('reads every table through an index bounded by the parameters', async () => {
    expect(await unboundedScansOfPrepared(client)).toEqual([]);
  });
});
