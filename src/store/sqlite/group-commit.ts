import type { Db, Synchronous } from './database.js';

interface Pending {
  run: () => unknown;
  /** false: losing this write to a power cut is harmless (it is redone); no fsync for it alone. */
  durable: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Options of one write. */
export interface CommitOptions {
  /**
   * Default true. Writes whose loss at a power cut only repeats work (claims, attempt outcomes,
   * deferrals, pruning: at least once still holds) pass false: a batch of only such writes
   * commits without an fsync (synchronous=NORMAL); one durable write in a batch makes the whole
   * batch FULL. Under load this saves the dispatcher's fsyncs, not the publishers'.
   */
  durable?: boolean;
}

export type Commit = <T>(run: () => T, options?: CommitOptions) => Promise<T>;

type Result = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Thrown to abort a batch run without savepoints when one of its writes fails. */
const ABORT = Symbol('abort batch');

/**
 * Group commit: writes submitted in the same event-loop turn share one transaction, so one
 * fsync serves them all. A batch first runs without savepoints; if a write fails, the
 * transaction is rolled back and the batch runs again with each write in its own savepoint
 * (better-sqlite3 nests transactions that way), so the failing write rolls back alone and the
 * others commit. Writes must therefore be safe to run twice when the first run rolled back:
 * they are (plain SQL within the transaction). Promises settle only after
 * the shared COMMIT has returned: a resolved durable write survives a power cut.
 */
export function makeGroupCommit(db: Db, synchronous: Synchronous): Commit {
  let queue: Pending[] = [];
  let mode: Synchronous = synchronous;

  /** Sets the connection's durability for the next transaction (only between transactions). */
  function use(wanted: Synchronous): void {
    if (mode === wanted) return;
    db.pragma(`synchronous = ${wanted}`);
    mode = wanted;
  }

  /**
   * Runs the batch in one transaction. `isolate`: each write in its own savepoint, so one that
   * fails rolls back alone; otherwise without savepoints (they cost a statement journal per
   * write), and the first failure aborts the whole transaction by throwing ABORT.
   */
  function runBatch(batch: Pending[], isolate: boolean, results: Result[]): void {
    db.transaction(() => {
      for (const item of batch) {
        if (!isolate) {
          try {
            results.push({ ok: true, value: item.run() });
          } catch {
            throw ABORT;
          }
          continue;
        }
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
  }

  function flush(): void {
    const batch = queue;
    queue = [];
    use(synchronous === 'FULL' && batch.some((item) => item.durable) ? 'FULL' : 'NORMAL');
    let results: Result[] = [];
    try {
      try {
        runBatch(batch, false, results);
      } catch (error) {
        if (error !== ABORT) throw error;
        // A write failed: nothing was committed; run the batch again with each write isolated.
        results = [];
        runBatch(batch, true, results);
      }
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

  return function commit<T>(run: () => T, options: CommitOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({
        run,
        durable: options.durable ?? true,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
    });
  };
}
