import { type HealthListener, makeHealthTracker, storageError } from '../health.js';
import type { Store } from '../store.js';
import { makeCatalog } from './catalog.js';
import { type Checkpointer, startCheckpointer } from './checkpointer.js';
import { type SqliteContext, type Synchronous, statementCache } from './database.js';
import { makeDispatch } from './dispatch.js';
import { makeEndpoints } from './endpoints.js';
import { makeExamples } from './examples.js';
import { makeExpunge } from './expunge.js';
import { watchFileIdentity } from './file-identity.js';
import { type Commit, makeGroupCommit } from './group-commit.js';
import { makeIdempotency } from './idempotency.js';
import { makeMessages } from './messages.js';
import { makePlumbing } from './plumbing.js';
import { makeSources } from './sources.js';
import { type Fdatasync, openWalSync, WalFlushError, type WalSync } from './wal-sync.js';
import { isReadOnlyError, openWritableDatabase } from './writable.js';

export interface SqliteStoreOptions {
  /** Database file; created with its schema on first open. */
  path: string;
  /** Default FULL: every acknowledged write survives power loss. NORMAL trades that for speed. */
  synchronous?: Synchronous;
  /** Told when a background WAL checkpoint fails (SQLite's own checkpoints then take over). */
  onError?: (error: Error) => void;
  /** Told when the store's health changes (disk full, file removed, a failed flush). Default: none. */
  onHealth?: HealthListener;
  /** The WAL flush; injectable so tests can make it fail. Default: fdatasync. */
  walFlush?: Fdatasync;
  /**
   * Largest size of the database in pages (SQLite's max_page_count); past it writes fail as on
   * a full disk. Default: no limit but the disk's. Tests use it to fill the "disk".
   */
  maxPageCount?: number;
}

/**
 * The storage probe while the disk is full: a write that needs new pages (inserted and deleted
 * in one transaction), so it succeeds only once there is room again.
 */
const PROBE_WRITE = "INSERT OR REPLACE INTO settings (key, value) VALUES ('storage_probe', zeroblob(65536))";
const PROBE_UNDO = "DELETE FROM settings WHERE key = 'storage_probe'";

export function openSqliteStore(options: SqliteStoreOptions): Store {
  const db = openWritableDatabase(options.path);
  let walSync: WalSync | null = null;
  let checkpointer: Checkpointer;
  try {
    if (options.maxPageCount !== undefined) db.pragma(`max_page_count = ${options.maxPageCount}`);
    walSync = (options.synchronous ?? 'FULL') === 'FULL' ? openWalSync(options.path, options.walFlush) : null;
    checkpointer = startCheckpointer(options.path, options.onError ?? (() => {}));
  } catch (error) {
    void walSync?.close();
    db.close();
    throw error;
  }
  const prepare = statementCache(db);
  const tracker = makeHealthTracker(async () => {
    db.transaction(() => {
      prepare(PROBE_WRITE).run();
      prepare(PROBE_UNDO).run();
    }).immediate();
  }, options.onHealth);
  const identity = watchFileIdentity(options.path, (error) =>
    tracker.fail('storage_lost', 'permanent', error),
  );
  const groupCommit = makeGroupCommit(db, walSync);
  /** A write refused outright: the file is gone, or a failed flush left the disk's state unknown. */
  const refusal = () => {
    const health = tracker.health();
    if (health.state === 'ok' || (health.state === 'unavailable' && health.retryable)) return null;
    return storageError(health.fault, null);
  };
  /** A failed write's error, as the store's health sees it. */
  const failure = (error: unknown): unknown => {
    if (error instanceof WalFlushError) {
      tracker.fail('storage_failed', 'fatal', error);
      return storageError('storage_failed', error);
    }
    if ((error as { code?: unknown } | null)?.code === 'SQLITE_FULL') {
      tracker.fail('storage_full', 'retryable', error);
      return storageError('storage_full', error);
    }
    // Writable at start (openWritableDatabase), so something changed under the server: the probe
    // brings the store back once writes work again.
    if (isReadOnlyError(error)) {
      tracker.fail('storage_read_only', 'retryable', error);
      return storageError('storage_read_only', error);
    }
    return error;
  };
  const commit: Commit = (run, commitOptions) => {
    const refused = refusal();
    if (refused) return Promise.reject(refused);
    return groupCommit(run, commitOptions).then(
      (value) => {
        // Read again at acknowledgement: the file may have gone while this write waited for
        // its flush. What remains is the time until the check notices (IDENTITY_CHECK_MS).
        const late = refusal();
        if (late) throw late;
        return value;
      },
      (error) => {
        throw failure(error);
      },
    );
  };
  const ctx: SqliteContext = {
    db,
    prepare,
    all: <Row>(sql: string, params: unknown[]) => prepare(sql).all(...params) as Row[],
    commit,
  };
  return {
    ...makeCatalog(ctx),
    ...makeEndpoints(ctx),
    ...makeMessages(ctx),
    ...makeDispatch(ctx),
    ...makePlumbing(ctx),
    ...makeIdempotency(ctx),
    ...makeSources(ctx),
    ...makeExpunge(ctx),
    ...makeExamples(ctx),
    // One process owns the file: its own API wakes its dispatcher directly.
    onDue: () => () => {},
    health: tracker.health,
    close: async () => {
      tracker.close();
      identity.close();
      // Let writes queued in this turn commit before the handle goes away (they are answered
      // by their own promises: a failure here is theirs).
      await groupCommit(() => undefined).catch(() => {});
      // The last connection to close removes the WAL: the checkpointer's goes first.
      await checkpointer.close();
      await walSync?.close();
      db.close();
    },
  };
}
