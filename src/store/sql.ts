import type { TimeRange } from './store.js';

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
