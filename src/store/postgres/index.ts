import pg from 'pg';
import { type HealthListener, makeHealthTracker, storageError } from '../health.js';
import type { Store } from '../store.js';
import { makeCatalog } from './catalog.js';
import { createPool, DUE_CHANNEL, migrate, type PgContext, queryConfig, type Sql, txOn } from './database.js';
import { makeDispatch } from './dispatch.js';
import { makeEndpoints } from './endpoints.js';
import { pgFault } from './errors.js';
import { makeExamples } from './examples.js';
import { makeExpunge } from './expunge.js';
import { makeGroupCommit } from './group-commit.js';
import { makeIdempotency } from './idempotency.js';
import { makeMessages } from './messages.js';
import { makePlumbing } from './plumbing.js';
import { makeSources } from './sources.js';
import { ensureWritable, WRITE_PROBE } from './writable.js';

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
  /** Told when the store's health changes (the database went away, came back). Default: none. */
  onHealth?: HealthListener;
}

/** How long to wait before re-establishing a lost LISTEN connection, in ms; doubles while it fails. */
const RELISTEN_DELAY_MS = 1000;
/** Longest wait between attempts to re-establish the LISTEN connection, in ms. */
const RELISTEN_MAX_DELAY_MS = 5000;

/** Opens the PostgreSQL store, applying migrations first (safe with several nodes starting). */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const pool = createPool(options.connectionString, options.poolSize ?? 10);
  // A write, not `SELECT 1`: a database that answers but refuses writes is not back.
  const tracker = makeHealthTracker(() => pool.query(WRITE_PROBE), options.onHealth);
  /** A connection-level failure marks the store unavailable and is answered as such (503). */
  const lost = (error: unknown): unknown => {
    const fault = pgFault(error);
    if (fault === null) return error;
    tracker.fail(fault, 'retryable', error);
    return storageError(fault, error);
  };
  // Unheard, an idle connection's error would end the process.
  pool.on('error', (error) => {
    lost(error);
    options.onError?.(error);
  });
  // pg-pool listens for errors only on idle connections: one that dies while checked out (a
  // FATAL between two statements of a transaction: a restart, pg_terminate_backend) would emit
  // an 'error' nobody hears, and that ends the process. The failure reaches whoever uses the
  // connection through its next query; this listener only makes sure it is heard.
  pool.on('connect', (client) => {
    client.on('error', (error) => void lost(error));
  });
  try {
    await ensureWritable(pool, () => migrate(pool));
  } catch (error) {
    tracker.close();
    await pool.end();
    throw error;
  }
  const noNotify = () => {};
  const ctx: PgContext = {
    pool,
    async rows<Row>(sql: Sql, params: unknown[] = []) {
      try {
        return (await pool.query(queryConfig(sql, params))).rows as Row[];
      } catch (error) {
        throw lost(error);
      }
    },
    commit: makeGroupCommit(pool, options.concurrentCommits ?? 4, lost),
    async transaction(run) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw lost(error);
      }
      try {
        await client.query('BEGIN');
        const result = await run(txOn(client, noNotify));
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        client.release(true);
        throw lost(error);
      }
    },
  };
  const listeners = new Set<() => void>();
  const listener = startListening(options, listeners, lost);
  return {
    ...makeCatalog(ctx),
    ...makeEndpoints(ctx),
    ...makeMessages(ctx),
    ...makeDispatch(ctx),
    ...makePlumbing(ctx),
    ...makeIdempotency(ctx),
    ...makeSources(ctx),
    ...makeExpunge(ctx),
    ...makeExamples(ctx),
    onDue(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    health: tracker.health,
    async close() {
      tracker.close();
      await listener.stop();
      await pool.end();
    },
  };
}

/**
 * One dedicated connection LISTENs for due work; when it drops it is re-established (waiting
 * longer each time it fails, up to RELISTEN_MAX_DELAY_MS), and a missed notification costs at
 * most the dispatcher's idle poll. Once it listens again, listeners are woken: work committed
 * while it was away was announced to nobody.
 */
function startListening(
  options: PostgresStoreOptions,
  listeners: Set<() => void>,
  lost: (error: unknown) => unknown,
) {
  let client: pg.Client | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  const wakeAll = () => {
    for (const fn of listeners) fn();
  };

  const reconnectSoon = () => {
    if (stopped) return;
    client = null;
    clearTimeout(timer);
    const delay = Math.min(RELISTEN_DELAY_MS * 2 ** failures++, RELISTEN_MAX_DELAY_MS);
    timer = setTimeout(() => void connect(), delay);
  };

  const failed = (c: pg.Client, err: Error) => {
    lost(err);
    options.onError?.(err);
    void c.end().catch(() => {});
    if (client === c) reconnectSoon();
  };

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: options.connectionString });
    client = c;
    c.on('notification', wakeAll);
    c.on('error', (err) => failed(c, err));
    try {
      await c.connect();
      await c.query(`LISTEN ${DUE_CHANNEL}`);
    } catch (err) {
      if (stopped) return;
      failed(c, err as Error);
      return;
    }
    if (failures > 0) wakeAll();
    failures = 0;
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
