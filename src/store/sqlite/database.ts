import Database from 'better-sqlite3';
import { AUTOCHECKPOINT_PAGES } from './checkpointer.js';
import type { Commit } from './group-commit.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

/**
 * SQLite durability. FULL (the default): a durable write is acknowledged once the WAL holding
 * it is on disk (wal-sync.ts). NORMAL: at its COMMIT; a power cut may lose the last ones.
 */
export type Synchronous = 'FULL' | 'NORMAL';

export function openDatabase(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // COMMIT never waits for the disk on the event loop: under FULL, wal-sync.ts does that off it.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // Statement journals and sort spills in memory, not temp files (measured: +10% end to end).
  db.pragma('temp_store = MEMORY');
  // Checkpoints run on their own thread (checkpointer.ts); this is the fallback threshold.
  db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  // A WAL that grew past this (a checkpoint held back by a long read) is cut back to it once
  // copied. Under steady load the WAL starts over from its beginning about every
  // AUTOCHECKPOINT_PAGES frames, so the limit sits well above that: a limit below it (64 MiB
  // once) cut the file on every cycle, and freeing those pages stalled the event loop 4-7 ms
  // about twice a second at 2,000 publishes/s (BENCHMARKS.md).
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.pragma(`journal_size_limit = ${2 * AUTOCHECKPOINT_PAGES * pageSize}`);
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}

/** Caches prepared statements by their SQL text: preparing is far costlier than running. */
export function statementCache(db: Db): Prepare {
  const cache = new Map<string, Database.Statement>();
  return (sql) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      cache.set(sql, stmt);
    }
    return stmt;
  };
}

export type Prepare = (sql: string) => Database.Statement;

/** What each part of the SQLite store is built from. */
export interface SqliteContext {
  db: Db;
  prepare: Prepare;
  /** Runs a SELECT and returns its rows (for the shared pagination helper). */
  all: <Row>(sql: string, params: unknown[]) => Row[];
  /** Runs a write in the next shared (group) commit; resolves once it is committed (see Commit). */
  commit: Commit;
}
