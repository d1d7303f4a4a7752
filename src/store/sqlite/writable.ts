import { basename, dirname, resolve } from 'node:path';
import { type Db, openDatabase } from './database.js';

/**
 * SQLite's answers when it may not write: SQLITE_READONLY (the file), SQLITE_READONLY_DIRECTORY
 * (the directory, where the WAL and shared-memory files must be created), and their kin.
 */
export function isReadOnlyError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_READONLY');
}

/** What to tell an operator whose database file cannot be written, and what to do about it. */
function readOnlyError(path: string, cause: unknown): Error {
  const file = resolve(path);
  const name = basename(file);
  const user = typeof process.getuid === 'function' ? ` (uid ${process.getuid()})` : '';
  return new Error(
    `the SQLite database ${file} cannot be written (${(cause as Error).message}). ` +
      `Hookgate writes the file and, in ${dirname(file)}, ${name}-wal and ${name}-shm beside it: ` +
      `make the file, those two and the directory writable by the user running Hookgate${user}, ` +
      'or point --db (HOOKGATE_DB) at a writable path.',
    { cause },
  );
}

/**
 * Opens the database and proves it takes writes before anything is served: a file SQLite can only
 * read opens without complaint and fails every write later. The proof is a real write (inserted
 * and deleted in one transaction), not an access check: root passes access checks on files it
 * still cannot write (an immutable file, a read-only mount).
 */
export function openWritableDatabase(path: string): Db {
  let db: Db;
  try {
    db = openDatabase(path);
  } catch (error) {
    throw isReadOnlyError(error) ? readOnlyError(path, error) : error;
  }
  try {
    db.transaction(() => {
      db.prepare("INSERT OR REPLACE INTO settings (key, value) VALUES ('storage_probe', '')").run();
      db.prepare("DELETE FROM settings WHERE key = 'storage_probe'").run();
    }).immediate();
  } catch (error) {
    db.close();
    throw isReadOnlyError(error) ? readOnlyError(path, error) : error;
  }
  return db;
}
