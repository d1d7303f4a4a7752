import pg from 'pg';
import { ApiError } from '../../domain/errors.js';
import type { StorageFault } from '../store.js';

/** PostgreSQL's unique_violation becomes the API's 409; anything else propagates. */
export async function conflictOnUnique<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if ((e as { code?: string }).code === '23505') throw new ApiError('conflict');
    throw e;
  }
}

/** Socket errors of a database that is down, restarting or unreachable. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** What pg says when a connection ended under it, or could not be had in time. */
const LOST_CONNECTION =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection timeout/i;

/**
 * The storage fault an error of `pg` shows, or null when it is about the statement (bad data,
 * a constraint) rather than the database being there. SQLSTATEs (PostgreSQL's appendix A):
 * class 08 connection exception; 57P01-57P03 the server shutting down, crashed or starting;
 * 53300 too many connections; 53100 disk full; 42501 insufficient privilege and 25006 a
 * read-only transaction (writes refused).
 */
export function pgFault(error: unknown): StorageFault | null {
  if (error instanceof ApiError) return null;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (code === '53100') return 'storage_full';
    // Writable at start (ensureWritable): a grant revoked, or a failover to a standby, since.
    if (code === '42501' || code === '25006') return 'storage_read_only';
    if (code.startsWith('08') || code.startsWith('57P') || code === '53300') return 'database_unavailable';
    if (NETWORK_CODES.has(code)) return 'database_unavailable';
  }
  if (error instanceof pg.DatabaseError) return null;
  return error instanceof Error && LOST_CONNECTION.test(error.message) ? 'database_unavailable' : null;
}
