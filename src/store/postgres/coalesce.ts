import pg from 'pg';
import type { PgContext, Tx } from './database.js';

interface Waiting<V> {
  key: string;
  resolve: (value: V | undefined) => void;
  reject: (error: unknown) => void;
}

/**
 * Look-ups by key made in the same event-loop turn, answered by one query: every API request
 * reads its app (and, with an app's token, the token) before anything else, and on PostgreSQL
 * a query per request through the pool cost more than the rest of a publish. `fetch` answers
 * a set of distinct keys with what it found for each.
 */
export function coalescedLookup<V>(
  fetch: (keys: string[]) => Promise<Map<string, V>>,
): (key: string) => Promise<V | undefined> {
  let waiting: Waiting<V>[] = [];

  function answer(batch: Waiting<V>[]): void {
    const keys = [...new Set(batch.map((w) => w.key))];
    fetch(keys).then(
      (found) => {
        for (const w of batch) w.resolve(found.get(w.key));
      },
      (error) => {
        if (keys.length === 1) {
          for (const w of batch) w.reject(error);
          return;
        }
        // One key PostgreSQL refuses (a NUL in a path) must not fail the others' look-ups.
        for (const key of keys) answer(batch.filter((w) => w.key === key));
      },
    );
  }

  function run(): void {
    const batch = waiting;
    waiting = [];
    answer(batch);
  }

  return (key) =>
    new Promise((resolve, reject) => {
      if (waiting.length === 0) setImmediate(run);
      waiting.push({ key, resolve, reject });
    });
}

interface QueuedWrite<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/** Most writes `coalescedWrite` puts in one batch: bounds a statement's size. */
const MAX_BATCH = 1000;

/**
 * Writes made in the same event-loop turn, run together as one write of the group commit by
 * `runAll` (a statement for all of them rather than one each: on PostgreSQL a round trip per
 * write, each a query for the client to send and parse and for the server to run, was most of
 * what a publish cost). If a statement of the batch fails, each of its writes runs alone by
 * `runOne`, so a bad one fails by itself. `runAll` answers in the order of the items.
 */
export function coalescedWrite<I, R>(
  commit: PgContext['commit'],
  runAll: (tx: Tx, items: readonly I[]) => Promise<R[]>,
  runOne: (tx: Tx, item: I) => Promise<R>,
): (item: I) => Promise<R> {
  const queue: QueuedWrite<I, R>[] = [];

  function flush(): void {
    const batch = queue.splice(0, MAX_BATCH);
    if (queue.length > 0) setImmediate(flush);
    commit((tx) =>
      runAll(
        tx,
        batch.map((w) => w.item),
      ),
    ).then(
      (results) => {
        for (const [i, w] of batch.entries()) w.resolve(results[i]!);
      },
      (error) => {
        if (batch.length === 1 || !rolledBackByStatement(error)) {
          for (const w of batch) w.reject(error);
          return;
        }
        for (const w of batch) commit((tx) => runOne(tx, w.item)).then(w.resolve, w.reject);
      },
    );
  }

  return (item) =>
    new Promise((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({ item, resolve, reject });
    });
}

/**
 * Whether a batch's error is a statement PostgreSQL refused (bad data, a constraint, bad SQL),
 * which rolled the batch back for certain. Any other failure (the connection lost at COMMIT,
 * say) may have committed it: running its writes again could store a publish twice.
 */
function rolledBackByStatement(error: unknown): boolean {
  const code = error instanceof pg.DatabaseError ? error.code : undefined;
  return code !== undefined && (code.startsWith('2') || code.startsWith('42'));
}
