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

  function run(): void {
    const batch = waiting;
    waiting = [];
    fetch([...new Set(batch.map((w) => w.key))]).then(
      (found) => {
        for (const w of batch) w.resolve(found.get(w.key));
      },
      (error) => {
        for (const w of batch) w.reject(error);
      },
    );
  }

  return (key) =>
    new Promise((resolve, reject) => {
      if (waiting.length === 0) setImmediate(run);
      waiting.push({ key, resolve, reject });
    });
}
