import { closeSync, fdatasync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Makes committed WAL frames durable without blocking the event loop. With synchronous=FULL
 * SQLite calls fdatasync on the WAL inside COMMIT, on the calling thread: every request waits
 * behind it. Instead transactions commit with synchronous=NORMAL (frames written, not synced)
 * and this flushes the WAL file from libuv's thread pool; a durable write is acknowledged only
 * once a flush that started after its COMMIT has finished, so what was acknowledged survives
 * a power cut exactly as under FULL. Flushes do not overlap: commits arriving while one runs
 * share the next one (group commit at the disk). Claims wait for the same flush before they
 * hand out work (see group-commit.ts), so nothing is attempted that a power cut could undo.
 */
export interface WalSync {
  /** Resolves once everything committed before this call is on disk. */
  flushed(): Promise<void>;
  /** True when no flush is running or asked for: everything committed so far was flushed. */
  idle(): boolean;
  /** Waits for the flush in progress; later calls to `flushed` fail. */
  close(): Promise<void>;
}

/** A WAL flush failed: from then on nothing more can be acknowledged until a restart. */
export class WalFlushError extends Error {}

/** The flush itself; injectable so tests can hold it or make it fail. */
export type Fdatasync = (fd: number, done: (error: Error | null) => void) => void;

/** The WAL of the database at `path`; it must exist (the connection is open in WAL mode). */
export function openWalSync(path: string, flush: Fdatasync = fdatasync): WalSync {
  // Linux flushes the file's dirty pages whichever descriptor asks, so our own one serves.
  const fd = openSync(`${path}-wal`, 'r');
  // SQLite created the WAL when it opened the database: its directory entry must be durable too.
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  let running: Promise<void> | null = null;
  let waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  /**
   * After a failed flush the kernel may have dropped the dirty pages it could not write, and a
   * later flush could succeed without them: frames after the hole would be lost at a power cut
   * (recovery stops at the first bad frame). So one failure fails every later flush, until a
   * restart lets SQLite recover from the file as it is.
   */
  let failed: WalFlushError | null = null;
  let closed = false;

  function start(): void {
    const batch = waiting;
    waiting = [];
    running = new Promise<void>((resolve) => {
      flush(fd, (error) => {
        if (error && !failed)
          failed = new WalFlushError(`WAL flush failed; restart Hookgate: ${error.message}`);
        for (const w of batch) failed ? w.reject(failed) : w.resolve();
        running = null;
        if (waiting.length > 0) start();
        resolve();
      });
    });
  }

  return {
    flushed() {
      return new Promise<void>((resolve, reject) => {
        if (failed) return reject(failed);
        if (closed) return reject(new Error('WAL flush after the store closed'));
        waiting.push({ resolve, reject });
        // A flush already running may have started before the caller's COMMIT: wait for the next.
        if (!running) start();
      });
    },
    idle: () => running === null && waiting.length === 0,
    async close() {
      closed = true;
      while (running) await running;
      closeSync(fd);
    },
  };
}
