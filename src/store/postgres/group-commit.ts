import type pg from 'pg';
import { DUE_CHANNEL, type Tx, txOn } from './database.js';

interface Pending {
  run: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Result = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Thrown to abandon a batch run without savepoints when one of its writes fails. */
class BatchAborted extends Error {}

/**
 * Group commit on PostgreSQL: writes queued while a commit is in flight share the next
 * transaction, so one WAL flush serves them all. A batch first runs without savepoints (two
 * round trips per write saved); if a write fails, the transaction is rolled back and the batch
 * runs again with each write in its own savepoint, so the failing write rolls back alone and
 * the others commit. Writes must therefore be safe to run again after a rollback: they are
 * (SQL within the transaction; `notifyDue` only sets a flag). Up to `maxConcurrent`
 * transactions run at once on the pool, the waiting writes shared out among those free.
 * Promises settle only after COMMIT returns: a resolved write is durable. `lost` turns a
 * failure (no connection, the connection lost, writes refused) into what the writes are rejected
 * with; a write's own failure (a constraint) passes through it unchanged.
 */
export function makeGroupCommit(
  pool: pg.Pool,
  maxConcurrent: number,
  lost: (error: unknown) => unknown = (error) => error,
): <T>(run: (tx: Tx) => Promise<T>) => Promise<T> {
  const queue: Pending[] = [];
  let active = 0;

  /** One transaction over the batch; `isolate` puts each write in a savepoint of its own. */
  async function runBatch(client: pg.PoolClient, batch: Pending[], isolate: boolean): Promise<Result[]> {
    const results: Result[] = [];
    let notify = false;
    await client.query('BEGIN');
    const tx = txOn(client, () => {
      notify = true;
    });
    for (const item of batch) {
      if (!isolate) {
        try {
          results.push({ ok: true, value: await item.run(tx) });
        } catch {
          throw new BatchAborted();
        }
        continue;
      }
      await client.query('SAVEPOINT item');
      let result: Result;
      try {
        result = { ok: true, value: await item.run(tx) };
      } catch (error) {
        result = { ok: false, error };
      }
      // Outside the write's try: a failure here fails the batch, never this write twice.
      await client.query(result.ok ? 'RELEASE SAVEPOINT item' : 'ROLLBACK TO SAVEPOINT item');
      results.push(result);
    }
    // Delivered to listeners at COMMIT, never for work that was rolled back.
    if (notify) await client.query(`NOTIFY ${DUE_CHANNEL}`);
    await client.query('COMMIT');
    return results;
  }

  async function flush(batch: Pending[]): Promise<void> {
    let results: Result[];
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      // No connection (PostgreSQL restarting, out of connections): these writes fail now.
      const failure = lost(error);
      for (const item of batch) item.reject(failure);
      return;
    }
    try {
      try {
        results = await runBatch(client, batch, false);
      } catch (error) {
        if (!(error instanceof BatchAborted)) throw error;
        // A write failed: nothing was committed; run the batch again with each write isolated.
        await client.query('ROLLBACK');
        results = await runBatch(client, batch, true);
      }
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      client.release(true);
      const failure = lost(error);
      for (const item of batch) item.reject(failure);
      return;
    }
    client.release();
    batch.forEach((item, i) => {
      const result = results[i]!;
      if (result.ok) item.resolve(result.value);
      // A write refused for what the database is (its rights revoked, a standby), not for what
      // the write is, tells the store's health too.
      else item.reject(lost(result.error));
    });
  }

  function pump(): void {
    while (queue.length > 0 && active < maxConcurrent) {
      // The queue is shared out over the free transactions: one transaction's writes run one
      // round trip after another, so a queue left whole would make every write wait for all the
      // others, while the pool's other connections stayed idle.
      const batch = queue.splice(0, Math.ceil(queue.length / (maxConcurrent - active)));
      active++;
      flush(batch).finally(() => {
        active--;
        pump();
      });
    }
  }

  return function commit<T>(run: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (queue.length === 0) setImmediate(pump);
      queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
    });
  };
}
