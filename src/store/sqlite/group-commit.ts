import type { Db } from './database.js';

interface Pending {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: writes submitted in the same event-loop turn share one transaction, so one
 * fsync serves them all. Each write runs in its own savepoint (better-sqlite3 nests
 * transactions that way), so one failing write rolls back alone. Promises settle only after
 * the shared COMMIT has returned: a resolved write is durable.
 */
export function makeGroupCommit(db: Db): <T>(run: () => T) => Promise<T> {
  let queue: Pending[] = [];

  function flush(): void {
    const batch = queue;
    queue = [];
    const results: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      db.transaction(() => {
        for (const item of batch) {
          try {
            results.push({ ok: true, value: db.transaction(item.run)() });
          } catch (error) {
            // Some errors (disk full, I/O) make SQLite roll back the whole transaction: the
            // rest of the batch must not run in autocommit and the batch must fail as one.
            if (!db.inTransaction) throw error;
            results.push({ ok: false, error });
          }
        }
      }).immediate();
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const result = results[i]!;
      if (result.ok) item.resolve(result.value);
      else item.reject(result.error);
    });
  }

  return function commit<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
    });
  };
}
