import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Copying the WAL back into the database file (a checkpoint) writes every changed page again
 * and fsyncs the file. Left to SQLite, the commit that crosses the WAL size threshold does it,
 * on the event loop, stalling every request behind it. Here a thread of its own, with its own
 * connection, checkpoints continuously (PASSIVE: it never blocks a reader or the writer), so
 * the event loop only appends to the WAL. SQLite's own threshold stays as a fallback, far
 * higher (AUTOCHECKPOINT_PAGES), for when this thread cannot keep up.
 */
export interface Checkpointer {
  /** Stops the thread; resolves once it has exited. */
  close(): Promise<void>;
}

/** Pages of WAL after which a commit checkpoints by itself (SQLite's default is 1000). */
export const AUTOCHECKPOINT_PAGES = 20_000;

/**
 * Time between checkpoints, in ms. Often enough that the WAL stays far below the fallback
 * threshold under full load; rare enough that a page changed many times is copied once.
 */
const INTERVAL_MS = 100;

/**
 * The thread's code. An eval'd CommonJS script rather than a module file, so the same code runs
 * from dist/ and from the TypeScript sources under test; the driver's path comes in workerData.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
let lastError = null;
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    lastError = null;
  } catch (error) {
    // Told once per kind of failure, not every interval it lasts.
    const message = String(error && error.message ? error.message : error);
    if (message !== lastError) parentPort.postMessage({ error: message });
    lastError = message;
  }
}, ${INTERVAL_MS});
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** Starts checkpointing the WAL of the database at `path` (already in WAL mode). */
export function startCheckpointer(path: string, onError: (error: Error) => void): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver } });
  worker.on('message', (m: { error?: string }) => {
    if (m.error) onError(new Error(`WAL checkpoint failed: ${m.error}`));
  });
  worker.on('error', onError);
  // The process may exit while this thread sleeps between checkpoints.
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async close() {
      // Held while it closes: a process with nothing else left to do must wait for the thread
      // rather than exit before the store has closed its own connection.
      worker.ref();
      worker.postMessage('close');
      await exited;
    },
  };
}
