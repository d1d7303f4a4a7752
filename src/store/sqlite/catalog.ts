import { ApiError } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import type { App, EventType } from '../../domain/model.js';
import { pageBy } from '../pagination.js';
import { type AppRow, type EventTypeRow, jsonOrNull, toApp, toEventType } from '../rows.js';
import { DELETE_APP_ATTEMPTS, DELETE_APP_DELIVERIES } from '../sql.js';
import type { AppInput, Store } from '../store.js';
import type { Prepare, SqliteContext } from './database.js';
import { conflictOnUnique } from './sql.js';

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

/**
 * Deletes an application with everything that belongs to it, including an inbound source it
 * carries; runs inside the caller's commit.
 */
export function deleteAppData(prepare: Prepare, appId: string): void {
  prepare(DELETE_APP_DELIVERIES).run(appId);
  prepare(DELETE_APP_ATTEMPTS).run(appId);
  for (const table of ['messages', 'endpoints', 'app_tokens']) {
    prepare(`DELETE FROM ${table} WHERE app_id = ?`).run(appId);
  }
  prepare('DELETE FROM inbound_requests WHERE source_id IN (SELECT id FROM sources WHERE app_id = ?)').run(
    appId,
  );
  prepare('DELETE FROM sources WHERE app_id = ?').run(appId);
  prepare('DELETE FROM apps WHERE id = ?').run(appId);
}

/** Applications and event types: the configuration records. */
export function makeCatalog({ prepare, all, commit }: SqliteContext): CatalogStore {
  const appById = (id: string) => {
    const row = prepare('SELECT * FROM apps WHERE id = ?').get(id) as AppRow | undefined;
    return row ? toApp(row) : null;
  };
  const eventTypeByName = (name: string) => {
    const row = prepare('SELECT * FROM event_types WHERE name = ?').get(name) as EventTypeRow | undefined;
    return row ? toEventType(row) : null;
  };

  return {
    createApp: (input) =>
      commit(() => {
        const now = Date.now();
        const id = newId('app', now);
        conflictOnUnique(() =>
          prepare(
            `INSERT INTO apps (id, uid, name, metadata, rate_limit, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          ).run(id, input.uid, input.name, JSON.stringify(input.metadata), input.rateLimit, now, now),
        );
        return appById(id)!;
      }),

    getApp: async (idOrUid) => {
      const row = prepare(
        'SELECT * FROM apps WHERE id = ? UNION ALL SELECT * FROM apps WHERE uid = ? LIMIT 1',
      ).get(idOrUid, idOrUid) as AppRow | undefined;
      return row ? toApp(row) : null;
    },

    listApps: async (page) =>
      pageBy<AppRow, App>(all, {
        select: 'SELECT * FROM apps t',
        where: '1 = 1',
        params: [],
        key: 't.id',
        page,
        map: toApp,
        keyOf: (a) => a.id,
      }),

    updateApp: (id, input: AppInput) =>
      commit(() => {
        conflictOnUnique(() =>
          prepare(
            'UPDATE apps SET uid = ?, name = ?, metadata = ?, rate_limit = ?, updated_at = ? WHERE id = ?',
          ).run(input.uid, input.name, JSON.stringify(input.metadata), input.rateLimit, Date.now(), id),
        );
        const app = appById(id);
        if (!app) throw new ApiError('app_not_found');
        return app;
      }),

    deleteApp: (id) => commit(() => deleteAppData(prepare, id)),

    createEventType: (input) =>
      commit(() => {
        const now = Date.now();
        conflictOnUnique(() =>
          prepare(
            `INSERT INTO event_types (name, description, archived, deprecated, feature_flag, schemas, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          ).run(
            input.name,
            input.description,
            input.archived ? 1 : 0,
            input.deprecated ? 1 : 0,
            input.featureFlag,
            jsonOrNull(input.schemas),
            now,
            now,
          ),
        );
        return eventTypeByName(input.name)!;
      }),

    getEventType: async (name) => eventTypeByName(name),

    listEventTypes: async (page, includeArchived) =>
      pageBy<EventTypeRow, EventType>(all, {
        select: 'SELECT * FROM event_types t',
        where: includeArchived ? '1 = 1' : 't.archived = 0',
        params: [],
        key: 't.name',
        page,
        map: toEventType,
        keyOf: (e) => e.name,
      }),

    updateEventType: (name, input) =>
      commit(() => {
        prepare(
          `UPDATE event_types SET description = ?, archived = ?, deprecated = ?, feature_flag = ?, schemas = ?, updated_at = ?
           WHERE name = ?`,
        ).run(
          input.description,
          input.archived ? 1 : 0,
          input.deprecated ? 1 : 0,
          input.featureFlag,
          jsonOrNull(input.schemas),
          Date.now(),
          name,
        );
        const eventType = eventTypeByName(name);
        if (!eventType) throw new ApiError('event_type_not_found');
        return eventType;
      }),

    deleteEventType: (name, expunge) =>
      commit(() => {
        if (expunge) prepare('DELETE FROM event_types WHERE name = ?').run(name);
        else
          prepare('UPDATE event_types SET archived = 1, updated_at = ? WHERE name = ?').run(Date.now(), name);
      }),
  };
}
