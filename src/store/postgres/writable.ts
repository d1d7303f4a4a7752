import type pg from 'pg';
import { pgFault } from './errors.js';

/**
 * The write the store's health probe and the start-up check make: a real one the first time (the
 * row then stays, and later probes write nothing), so PostgreSQL checks the role's INSERT right on
 * a table of ours and refuses it in a read-only transaction (a standby, default_transaction_read_only).
 */
export const WRITE_PROBE =
  "INSERT INTO settings (key, value) VALUES ('storage_probe', '') ON CONFLICT (key) DO NOTHING";

/** A write refused: a missing privilege, or a read-only transaction (see pgFault). */
function isWriteRefused(error: unknown): boolean {
  return pgFault(error) === 'storage_read_only';
}

/** What to tell an operator whose database refuses Hookgate's writes, and what to do about it. */
async function writeRefusedError(pool: pg.Pool, cause: Error & { code?: string }): Promise<Error> {
  const who = await pool
    .query<{ role: string; schema: string }>('SELECT current_user AS role, current_schema() AS schema')
    .then((r) => r.rows[0] ?? null)
    .catch(() => null);
  const role = who ? `"${who.role}"` : 'the role in DATABASE_URL';
  const schema = who?.schema ?? 'public';
  const advice =
    cause.code === '25006'
      ? 'the database only takes reads (a standby, or default_transaction_read_only): point DATABASE_URL at the primary'
      : `connect as the role that owns Hookgate's tables, or GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${role} ` +
        `(and CREATE ON SCHEMA ${schema} while migrations are pending)`;
  return new Error(`PostgreSQL refuses Hookgate's writes as role ${role} (${cause.message}): ${advice}.`, {
    cause,
  });
}

/**
 * Runs `start` (the migrations) and proves the database takes writes before anything is served:
 * a role with only SELECT, or a read-only database, would otherwise answer health 204 and fail
 * every write. A refusal becomes an error that says what to do; any other error passes as it is.
 */
export async function ensureWritable(pool: pg.Pool, start: () => Promise<void>): Promise<void> {
  try {
    await start();
    await pool.query(WRITE_PROBE);
  } catch (error) {
    throw isWriteRefused(error) ? await writeRefusedError(pool, error as Error) : error;
  }
}
