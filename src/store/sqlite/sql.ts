import { ApiError } from '../../domain/errors.js';
import type { TimeRange } from '../store.js';

/** Unique-constraint violations become the API's 409; anything else propagates. */
export function conflictOnUnique<T>(run: () => T): T {
  try {
    return run();
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new ApiError('conflict');
    throw e;
  }
}

/**
 * A time range as SQL conditions on `column`: `since` inclusive, `until` exclusive, so adjacent
 * ranges neither overlap nor leave a gap.
 */
export function timeRangeSql(range: TimeRange, column: string): { sql: string[]; params: number[] } {
  const sql: string[] = [];
  const params: number[] = [];
  if (range.since !== null) {
    sql.push(`${column} >= ?`);
    params.push(range.since);
  }
  if (range.until !== null) {
    sql.push(`${column} < ?`);
    params.push(range.until);
  }
  return { sql, params };
}
