import type { Db } from './database.js';
import type { WalSync } from './wal-sync.js';

interface Pending {
  run: () => unknown;
  /** false: losing this write to a power cut is harmless (it is redone); it waits for no fsync. */
  durable: boolean;
  afterDurable: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Options of one write. */
export interface CommitOptions {
  /**
   * Default true: the write settles once it is on disk (see WalSync). Writes whose loss at a
   * power cut only repeats work (claims, attempt outcomes, deferrals: at least once still
   * holds) pass false and settle as soon as they are committed.
   */
  durable?: boolean;
  /**
   * Default false. True for a read-and-lease that hands work out (a claim): it settles only
   * once every durable write it could have seen is on disk, so nothing is attempted that a
   * power cut could take back.
   */
  afterDurable?: boolean;
}

export type Commit = <T>(run: () => T, options?: CommitOptions) => Promise<T>;

type Result = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Thrown to abort a batch run without savepoints when one of its writes fails. */
const ABORT = Symbol('abort batch');

/**
 * Group commit: writes submitted in the same event-loop turn share one transaction. A batch
 * first runs without savepoints; if a write fails, the transaction is rolled back and the batch
 * runs again with each write in its own savepoint (better-sqlite3 nests transactions that way),
 * so the failing write rolls back alone and the others commit. Writes must therefore be safe to
 * run twice when the first run rolled back: they are (plain SQL within the transaction).
 * Durable writes settle only once `walSync` reports their COMMIT on disk; without one
 * (synchronous=NORMAL) every write settles at its COMMIT.
 */
export function makeGroupCommit(db: Db, walSync: WalSync | null): Commit {
  let queue: Pending[] = [];

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
    // Writes that must wait for the disk: durable ones, and claims while a flush is owed (for an
    // earlier batch, or for a durable write of this one).
    const committed = (i: number) => results[i]!.ok;
    const owed =
      walSync !== null && (!walSync.idle() || batch.some((item, i) => item.durable && committed(i)));
    const waits = (item: Pending, i: number) => committed(i) && (item.durable || (item.afterDurable && owed));
    const onDisk = walSync && batch.some(waits) ? walSync.flushed() : null;
    batch.forEach((item, i) => {
      const result = results[i]!;
      if (!result.ok) item.reject(result.error);
      else if (onDisk && waits(item, i)) onDisk.then(() => item.resolve(result.value), item.reject);
      else item.resolve(result.value);
    });
  }

  return function commit<T>(run: () => T, options: CommitOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({
        run,
        durable: options.durable ?? true,
        afterDurable: options.afterDurable ?? false,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
    });
  };
}
