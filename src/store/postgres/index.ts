import pg from 'pg';
import type { Store } from '../store.js';
import { makeCatalog } from './catalog.js';
import { createPool, DUE_CHANNEL, migrate, type PgContext, queryConfig, type Sql, txOn } from './database.js';
import { makeDispatch } from './dispatch.js';
import { makeEndpoints } from './endpoints.js';
import { makeGroupCommit } from './group-commit.js';
import { makeIdempotency } from './idempotency.js';
import { makeMessages } from './messages.js';
import { makePlumbing } from './plumbing.js';
import { makeSources } from './sources.js';

export interface PostgresStoreOptions {
  /** postgres://user:pass@host:5432/db */
  connectionString: string;
  /** Connections in this node's pool. Default 10. */
  poolSize?: number;
  /** Group-commit transactions in flight at once. Default 4 (the rest of the pool serves reads). */
  concurrentCommits?: number;
  /**
   * Called with errors of the background LISTEN connection and of idle pooled connections (one
   * PostgreSQL ended: a restart, an administrator); the pool replaces those by itself.
   */
  onError?: (error: Error) => void;
}

/** How long to wait before re-establishing a lost LISTEN connection, in ms. */
const RELISTEN_DELAY_MS = 1000;

/** Opens the PostgreSQL store, applying migrations first (safe with several nodes starting). */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const pool = createPool(options.connectionString, options.poolSize ?? 10);
  // Unheard, an idle connection's error would end the process.
  pool.on('error', (error) => options.onError?.(error));
  await migrate(pool);
  const noNotify = () => {};
  const ctx: PgContext = {
    pool,
    rows: async <Row>(sql: Sql, params: unknown[] = []) =>
      (await pool.query(queryConfig(sql, params))).rows as Row[],
    commit: makeGroupCommit(pool, options.concurrentCommits ?? 4),
    async transaction(run) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await run(txOn(client, noNotify));
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        client.release(true);
        throw error;
      }
    },
  };
  const listeners = new Set<() => void>();
  const listener = startListening(options, listeners);
  return {
    ...makeCatalog(ctx),
    ...makeEndpoints(ctx),
    ...makeMessages(ctx),
    ...makeDispatch(ctx),
    ...makePlumbing(ctx),
    ...makeIdempotency(ctx),
    ...makeSources(ctx),
    onDue(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async close() {
      await listener.stop();
      await pool.end();
    },
  };
}

/**
 * One dedicated connection LISTENs for due work; when it drops it is re-established, and a
 * missed notification costs at most the dispatcher's idle poll.
 */
function startListening(options: PostgresStoreOptions, listeners: Set<() => void>) {
  let client: pg.Client | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const reconnectSoon = () => {
    if (stopped) return;
    client = null;
    clearTimeout(timer);
    timer = setTimeout(() => void connect(), RELISTEN_DELAY_MS);
  };

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: options.connectionString });
    client = c;
    c.on('notification', () => {
      for (const fn of listeners) fn();
    });
    c.on('error', (err) => {
      options.onError?.(err);
      void c.end().catch(() => {});
      if (client === c) reconnectSoon();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${DUE_CHANNEL}`);
    } catch (err) {
      if (stopped) return;
      options.onError?.(err as Error);
      void c.end().catch(() => {});
      if (client === c) reconnectSoon();
    }
  }

  void connect();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await client?.end().catch(() => {});
    },
  };
}
