import type { Page, PageQuery } from '../store.js';
import type { Prepare } from './database.js';

/**
 * Keyset pagination over a table whose key sorts in creation order. Never OFFSET: each page is
 * one index range scan from the cursor. `where` is a SQL condition over the table (aliased `t`).
 */
export function pageBy<Row, T>(
  prepare: Prepare,
  opts: {
    select: string;
    where: string;
    params: unknown[];
    key: string;
    page: PageQuery;
    map: (row: Row) => T;
    keyOf: (item: T) => string;
  },
): Page<T> {
  const { page } = opts;
  const backwards = page.iterator?.startsWith('-') ?? false;
  const cursor = backwards ? page.iterator!.slice(1) : page.iterator;
  const ascending = (page.order === 'ascending') !== backwards;
  const conds = [opts.where];
  const params = [...opts.params];
  if (cursor) {
    conds.push(`${opts.key} ${ascending ? '>' : '<'} ?`);
    params.push(cursor);
  }
  const sql = `${opts.select} WHERE ${conds.join(' AND ')} ORDER BY ${opts.key} ${ascending ? 'ASC' : 'DESC'} LIMIT ?`;
  const rows = prepare(sql).all(...params, page.limit + 1) as Row[];
  const more = rows.length > page.limit;
  const data = rows.slice(0, page.limit).map(opts.map);
  if (backwards) data.reverse();
  const first = data[0];
  const last = data[data.length - 1];
  return {
    data,
    iterator: last ? opts.keyOf(last) : (cursor ?? null),
    prevIterator: first ? `-${opts.keyOf(first)}` : null,
    done: !more,
  };
}
