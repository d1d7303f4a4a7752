import pg from 'pg';
import { MIGRATIONS } from './migrations.js';

/** Something that runs SQL: the pool, or a client inside a transaction. */
export interface Queryable {
  query<Row extends object = Record<string, unknown>>(config: pg.QueryConfig): Promise<pg.QueryResult<Row>>;
}

/**
 * A statement each connection has PostgreSQL parse and plan once, then runs by name (a named
 * prepared statement), for the queries of every publish, claim and outcome: publishing through
 * the store alone, 64 at a time, went from about 5,200 to 9,700 a second on the bench machine.
 * Only fixed SQL texts, and never `SELECT *`: each distinct text stays prepared on every
 * connection for the connection's life, and a column added by a newer node's migration must
 * not change its result (PostgreSQL refuses to run it then).
 */
export interface Prepared {
  readonly name: string;
  /** With `?` placeholders, as written. */
  readonly sql: string;
}

/** SQL with `?` placeholders, run as an unnamed statement, or a prepared one. */
export type Sql = string | Prepared;

const preparedBySql = new Map<string, Prepared>();

/** Every statement prepared so far (all of them once the store's modules are loaded): for the plan test. */
export function preparedStatements(): Prepared[] {
  return [...preparedBySql.values()];
}

/** The prepared statement of `sql`: one name per distinct text, the same for every caller. */
export function prepared(sql: string): Prepared {
  let p = preparedBySql.get(sql);
  if (p === undefined) {
    p = { name: `hookgate_${preparedBySql.size + 1}`, sql };
    preparedBySql.set(sql, p);
  }
  return p;
}

/** The query `pg` runs for `sql` with `values`. */
export function queryConfig(sql: Sql, values: unknown[]): pg.QueryConfig {
  return typeof sql === 'string'
    ? { text: numbered(sql), values }
    : { name: sql.name, text: numbered(sql.sql), values };
}

/** Rows as column arrays, `width` of them: the form `unnest(?::type[], …)` takes rows in. */
export function columnsOf(rows: readonly (readonly unknown[])[], width: number): unknown[][] {
  return Array.from({ length: width }, (_, i) => rows.map((row) => row[i]));
}

/** The transaction a queued write runs in; `notifyDue` asks for a wake-up NOTIFY at commit. */
export interface Tx {
  /** Runs `sql` and returns its rows. */
  rows<Row>(sql: Sql, params?: unknown[]): Promise<Row[]>;
  /** Runs `sql` and returns how many rows it changed. */
  run(sql: Sql, params?: unknown[]): Promise<number>;
  notifyDue(): void;
}

export interface PgContext {
  pool: pg.Pool;
  /** Runs a read on the pool. */
  rows<Row>(sql: Sql, params?: unknown[]): Promise<Row[]>;
  /** Runs a write in the next shared (group) commit; resolves once it is durable. */
  commit<T>(run: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs `run` in a transaction of its own on one connection. */
  transaction<T>(run: (tx: Tx) => Promise<T>): Promise<T>;
}

/** The channel new due work is announced on (LISTEN/NOTIFY). */
export const DUE_CHANNEL = 'hookgate_due';
/** Held while migrating, so nodes starting together migrate one after the other. */
const MIGRATION_LOCK = 7_244_017_501;

const placeholderCache = new Map<string, string>();

/** Our SQL is written with `?` placeholders (as for SQLite); PostgreSQL numbers them. */
export function numbered(sql: string): string {
  let out = placeholderCache.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    placeholderCache.set(sql, out);
  }
  return out;
}

/** 64-bit integers (our epoch-millisecond times and counts) as numbers, not strings. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

/**
 * Settings of every pooled session. `enable_seqscan=off`: a prepared statement may be planned
 * once for all parameters while its tables are still small, and on a table of a few pages a
 * sequential scan is the cheapest plan; kept, that plan then reads the whole table on every run
 * as it grows (measured: claims of a fresh install slowing to 30 ms a statement within seconds).
 * Every query of Hookgate's has an index to use; the setting only makes PostgreSQL take it while
 * tables are small. (A query with no index at all still gets a sequential scan.)
 */
export const SESSION_OPTIONS = '-c enable_seqscan=off';

/**
 * How long a query waits for a connection, in ms, before it fails (pg's default is forever): with
 * the database unreachable, requests answer 503 instead of hanging.
 */
const CONNECT_TIMEOUT_MS = 5000;

export function createPool(connectionString: string, max: number): pg.Pool {
  return new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // A connection whose peer vanished (a failover, a dropped network) is noticed by TCP.
    keepAlive: true,
    types: types as pg.CustomTypesConfig,
    options: SESSION_OPTIONS,
  });
}

export function txOn(client: Queryable, onNotify: () => void): Tx {
  return {
    rows: async <Row>(sql: Sql, params: unknown[] = []) =>
      (await client.query(queryConfig(sql, params))).rows as Row[],
    run: async (sql, params = []) => (await client.query(queryConfig(sql, params))).rowCount ?? 0,
    notifyDue: onNotify,
  };
}

/** Applies pending migrations under an advisory lock; safe when several nodes start at once. */
export async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    // Created only when missing: CREATE … IF NOT EXISTS needs the CREATE right even when the table
    // exists, and a role with only the rights to read and write the tables may run Hookgate.
    const { rows: found } = await client.query<{ present: boolean }>(
      "SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
    );
    if (!found[0]?.present)
      await client.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)');
    const { rows } = await client.query<{ v: number | null }>(
      'SELECT max(version) AS v FROM schema_migrations',
    );
    for (let version = rows[0]?.v ?? 0; version < MIGRATIONS.length; version++) {
      await client.query(MIGRATIONS[version]!);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version + 1]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
