import type { Store } from '../store.js';
import { makeCatalog } from './catalog.js';
import { type Checkpointer, startCheckpointer } from './checkpointer.js';
import { openDatabase, type SqliteContext, type Synchronous, statementCache } from './database.js';
import { makeDispatch } from './dispatch.js';
import { makeEndpoints } from './endpoints.js';
import { makeGroupCommit } from './group-commit.js';
import { makeIdempotency } from './idempotency.js';
import { makeMessages } from './messages.js';
import { makePlumbing } from './plumbing.js';
import { makeSources } from './sources.js';
import { openWalSync, type WalSync } from './wal-sync.js';

export interface SqliteStoreOptions {
  /** Database file; created with its schema on first open. */
  path: string;
  /** Default FULL: every acknowledged write survives power loss. NORMAL trades that for speed. */
  synchronous?: Synchronous;
  /** Told when a background WAL checkpoint fails (SQLite's own checkpoints then take over). */
  onError?: (error: Error) => void;
}

export function openSqliteStore(options: SqliteStoreOptions): Store {
  const db = openDatabase(options.path);
  let walSync: WalSync | null = null;
  let checkpointer: Checkpointer;
  try {
    walSync = (options.synchronous ?? 'FULL') === 'FULL' ? openWalSync(options.path) : null;
    checkpointer = startCheckpointer(options.path, options.onError ?? (() => {}));
  } catch (error) {
    void walSync?.close();
    db.close();
    throw error;
  }
  const prepare = statementCache(db);
  const ctx: SqliteContext = {
    db,
    prepare,
    all: <Row>(sql: string, params: unknown[]) => prepare(sql).all(...params) as Row[],
    commit: makeGroupCommit(db, walSync),
  };
  return {
    ...makeCatalog(ctx),
    ...makeEndpoints(ctx),
    ...makeMessages(ctx),
    ...makeDispatch(ctx),
    ...makePlumbing(ctx),
    ...makeIdempotency(ctx),
    ...makeSources(ctx),
    // One process owns the file: its own API wakes its dispatcher directly.
    onDue: () => () => {},
    close: async () => {
      // Let writes queued in this turn commit before the handle goes away.
      await ctx.commit(() => undefined);
      // The last connection to close removes the WAL: the checkpointer's goes first.
      await checkpointer.close();
      await walSync?.close();
      db.close();
    },
  };
}
