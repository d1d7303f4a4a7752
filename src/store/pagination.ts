import type { Page, PageQuery } from './store.js';

/** Runs a SELECT with `?` placeholders and returns its rows. */
export type RowQuery<Row> = (sql: string, params: unknown[]) => Row[] | Promise<Row[]>;

/**
 * Keyset pagination over a table whose key sorts in creation order. Never OFFSET: each page is
 * one index range scan from the cursor. `where` is a SQL condition over the table (aliased `t`).
 */
export async function pageBy<Row, T>(
  query: RowQuery<Row>,
  opts: {
    select: string;
    where: string;
    params: unknown[];
    key: string;
    page: PageQuery;
    map: (row: Row) => T;
    keyOf: (item: T) => string;
  },
): Promise<Page<T>> {
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
  const rows = await query(sql, [...params, page.limit + 1]);
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
