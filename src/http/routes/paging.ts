import type { PageQuery } from '../../store/store.js';

/** Svix list parameters to a store page query; newest-first lists pass their own default order. */
export function pageQuery(
  q: { limit?: number; iterator?: string | null; order?: 'ascending' | 'descending' },
  defaultOrder: PageQuery['order'] = 'ascending',
): PageQuery {
  return { limit: q.limit ?? 50, iterator: q.iterator || null, order: q.order ?? defaultOrder };
}
