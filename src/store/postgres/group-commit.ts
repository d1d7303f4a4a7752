import type pg from 'pg';
import { DUE_CHANNEL, type Tx, txOn } from './database.js';

interface Pending {
  run: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit on PostgreSQL: writes queued while a commit is in flight share the next
 * transaction, so one WAL flush serves them all. Each write runs in its own savepoint, so one
 * failing write rolls back alone. Up to `maxConcurrent` transactions run at once on the pool.
 * Promises settle only after COMMIT returns: a resolved write is durable.
 */
export function makeGroupCommit(
  pool: pg.Pool,
  maxConcurrent: number,
): <T>(run: (tx: Tx) => Promise<T>) => Promise<T> {
  let queue: Pending[] = [];
  let active = 0;

  async function flush(batch: Pending[]): Promise<void> {
    const results: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    let notify = false;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const tx = txOn(client, () => {
        notify = true;
      });
      for (const item of batch) {
        await client.query('SAVEPOINT item');
        try {
          results.push({ ok: true, value: await item.run(tx) });
          await client.query('RELEASE SAVEPOINT item');
        } catch (error) {
          await client.query('ROLLBACK TO SAVEPOINT item');
          results.push({ ok: false, error });
        }
      }
      // Delivered to listeners at COMMIT, never for work that was rolled back.
      if (notify) await client.query(`NOTIFY ${DUE_CHANNEL}`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      client.release(true);
      for (const item of batch) item.reject(error);
      return;
    }
    client.release();
    batch.forEach((item, i) => {
      const result = results[i]!;
      if (result.ok) item.resolve(result.value);
      else item.reject(result.error);
    });
  }

  function pump(): void {
    while (queue.length > 0 && active < maxConcurrent) {
      const batch = queue;
      queue = [];
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
