import { close, fdatasync, openSync } from 'node:fs';

/**
 * Makes committed WAL frames durable without blocking the event loop. With synchronous=FULL
 * SQLite calls fdatasync on the WAL inside COMMIT, on the calling thread: every request waits
 * behind it. Instead transactions commit with synchronous=NORMAL (frames written, not synced)
 * and this flushes the WAL file from libuv's thread pool; a durable write is acknowledged only
 * once a flush that started after its COMMIT has finished, so what was acknowledged survives
 * a power cut exactly as under FULL. Flushes do not overlap: commits arriving while one runs
 * share the next one (group commit at the disk). One difference from FULL remains: in the
 * fraction of a millisecond between a publish's COMMIT and its flush, the dispatcher can already
 * see and attempt its deliveries; a power cut inside that window can thus lose a message that
 * was attempted but never acknowledged to its publisher (who then publishes it again).
 */
export interface WalSync {
  /** Resolves once everything committed before this call is on disk. */
  flushed(): Promise<void>;
  close(): Promise<void>;
}

/** The WAL of the database at `path`; it must exist (the connection is open in WAL mode). */
export function openWalSync(path: string): WalSync {
  // Linux flushes the file's dirty pages whichever descriptor asks, so our own one serves.
  const fd = openSync(`${path}-wal`, 'r');
  let running: Promise<void> | null = null;
  let waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  function start(): void {
    const batch = waiting;
    waiting = [];
    running = new Promise<void>((resolve) => {
      fdatasync(fd, (error) => {
        for (const w of batch) error ? w.reject(error) : w.resolve();
        running = null;
        if (waiting.length > 0) start();
        resolve();
      });
    });
  }

  return {
    flushed() {
      return new Promise<void>((resolve, reject) => {
        waiting.push({ resolve, reject });
        // A flush already running may have started before the caller's COMMIT: wait for the next.
        if (!running) start();
      });
    },
    async close() {
      while (running) await running;
      await new Promise<void>((resolve, reject) => close(fd, (e) => (e ? reject(e) : resolve())));
    },
  };
}
