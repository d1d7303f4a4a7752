import { ApiError } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import type { App, EventType } from '../../domain/model.js';
import { pageBy } from '../pagination.js';
import { type AppRow, type EventTypeRow, jsonOrNull, toApp, toEventType } from '../rows.js';
import { DELETE_APP_ATTEMPTS, DELETE_APP_DELIVERIES } from '../sql.js';
import type { Store } from '../store.js';
import { coalescedLookup } from './coalesce.js';
import { type PgContext, prepared, type Tx } from './database.js';
import { conflictOnUnique } from './errors.js';

const APP_COLUMNS = 'id, uid, name, metadata, rate_limit, created_at, updated_at';

/**
 * Every API call naming an app reads it so, the calls of one turn together (coalescedLookup):
 * prepared, its columns named (see Prepared). Parameters: the keys, twice.
 */
const APPS_BY_ID_OR_UID = prepared(
  `SELECT ${APP_COLUMNS} FROM apps WHERE id = ANY(?) UNION ALL SELECT ${APP_COLUMNS} FROM apps WHERE uid = ANY(?)`,
);

type CatalogStore = Pick<
  Store,
  | 'createApp'
  | 'getApp'
  | 'listApps'
  | 'updateApp'
  | 'deleteApp'
  | 'createEventType'
  | 'getEventType'
  | 'listEventTypes'
  | 'updateEventType'
  | 'deleteEventType'
>;

/** Deletes an application with everything that belongs to it, inside the caller's transaction. */
export async function deleteAppData(tx: Tx, appId: string): Promise<void> {
  // Deliveries first: an outcome being recorded holds its delivery's row, so this waits for it,
  // and the attempts statement after it sees the attempt that outcome inserted.
  await tx.run(DELETE_APP_DELIVERIES, [appId]);
  await tx.run(DELETE_APP_ATTEMPTS, [appId]);
  for (const table of ['messages', 'endpoints', 'app_tokens']) {
    await tx.run(`DELETE FROM ${table} WHERE app_id = ?`, [appId]);
  }
  await tx.run('DELETE FROM inbound_requests WHERE source_id IN (SELECT id FROM sources WHERE app_id = ?)', [
    appId,
  ]);
  await tx.run('DELETE FROM sources WHERE app_id = ?', [appId]);
  await tx.run('DELETE FROM apps WHERE id = ?', [appId]);
}

/** Applications and event types. */
export function makeCatalog({ rows, commit }: PgContext): CatalogStore {
  // An app's id before another's uid, as the one-key look-up answered.
  const appByIdOrUid = coalescedLookup(async (keys) => {
    const found = new Map<string, AppRow>();
    const asked = new Set(keys);
    const matches = await rows<AppRow>(APPS_BY_ID_OR_UID, [keys, keys]);
    for (const row of matches) if (asked.has(row.id)) found.set(row.id, row);
    for (const row of matches) if (row.uid !== null && !found.has(row.uid)) found.set(row.uid, row);
    return found;
  });
  const appById = async (q: Pick<Tx, 'rows'>, id: string) => {
    const [row] = await q.rows<AppRow>('SELECT * FROM apps WHERE id = ?', [id]);
    return row ? toApp(row) : null;
  };
  const eventTypeByName = async (q: Pick<Tx, 'rows'>, name: string) => {
    const [row] = await q.rows<EventTypeRow>('SELECT * FROM event_types WHERE name = ?', [name]);
    return row ? toEventType(row) : null;
  };
  const reads = { rows };

  return {
    createApp: (input) =>
      commit(async (tx) => {
        const now = Date.now();
        const id = newId('app', now);
        await conflictOnUnique(() =>
          tx.run(
            `INSERT INTO apps (id, uid, name, metadata, rate_limit, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
            [id, input.uid, input.name, JSON.stringify(input.metadata), input.rateLimit, now, now],
          ),
        );
        return (await appById(tx, id))!;
      }),

    getApp: async (idOrUid) => {
      const row = await appByIdOrUid(idOrUid);
      return row ? toApp(row) : null;
    },

    listApps: (page) =>
      pageBy<AppRow, App>(rows, {
        select: 'SELECT * FROM apps t',
        where: '1 = 1',
        params: [],
        key: 't.id',
        page,
        map: toApp,
        keyOf: (a) => a.id,
      }),

    updateApp: (id, input) =>
      commit(async (tx) => {
        await conflictOnUnique(() =>
          tx.run(
            'UPDATE apps SET uid = ?, name = ?, metadata = ?, rate_limit = ?, updated_at = ? WHERE id = ?',
            [input.uid, input.name, JSON.stringify(input.metadata), input.rateLimit, Date.now(), id],
          ),
        );
        const app = await appById(tx, id);
        if (!app) throw new ApiError('app_not_found');
        return app;
      }),

    deleteApp: (id) => commit((tx) => deleteAppData(tx, id)),

    createEventType: (input) =>
      commit(async (tx) => {
        const now = Date.now();
        await conflictOnUnique(() =>
          tx.run(
            `INSERT INTO event_types (name, description, archived, deprecated, feature_flag, schemas, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
            [
              input.name,
              input.description,
              input.archived ? 1 : 0,
              input.deprecated ? 1 : 0,
              input.featureFlag,
              jsonOrNull(input.schemas),
              now,
              now,
            ],
          ),
        );
        return (await eventTypeByName(tx, input.name))!;
      }),

    getEventType: (name) => eventTypeByName(reads, name),

    listEventTypes: (page, includeArchived) =>
      pageBy<EventTypeRow, EventType>(rows, {
        select: 'SELECT * FROM event_types t',
        where: includeArchived ? '1 = 1' : 't.archived = 0',
        params: [],
        key: 't.name',
        page,
        map: toEventType,
        keyOf: (e) => e.name,
      }),

    updateEventType: (name, input) =>
      commit(async (tx) => {
        await tx.run(
          `UPDATE event_types SET description = ?, archived = ?, deprecated = ?, feature_flag = ?, schemas = ?, updated_at = ?
           WHERE name = ?`,
          [
            input.description,
            input.archived ? 1 : 0,
            input.deprecated ? 1 : 0,
            input.featureFlag,
            jsonOrNull(input.schemas),
            Date.now(),
            name,
          ],
        );
        const eventType = await eventTypeByName(tx, name);
        if (!eventType) throw new ApiError('event_type_not_found');
        return eventType;
      }),

    deleteEventType: (name, expunge) =>
      commit(async (tx) => {
        if (expunge) await tx.run('DELETE FROM event_types WHERE name = ?', [name]);
        else
          await tx.run('UPDATE event_types SET archived = 1, updated_at = ? WHERE name = ?', [
            Date.now(),
            name,
          ]);
      }),
  };
}
