import { ApiError } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import type { InboundRecord, Source } from '../../domain/model.js';
import { pageBy } from '../pagination.js';
import {
  type InboundRow,
  inboundInsertValues,
  newInboundRecord,
  type SourceRow,
  toInbound,
  toSource,
} from '../rows.js';
import { INSERT_INBOUND } from '../sql.js';
import type { Store } from '../store.js';
import { deleteAppData } from './catalog.js';
import type { SqliteContext } from './database.js';
import { insertMessage } from './publishing.js';
import { conflictOnUnique } from './sql.js';

type SourceStore = Pick<
  Store,
  | 'createSource'
  | 'getSource'
  | 'listSources'
  | 'updateSource'
  | 'rotateSourceToken'
  | 'deleteSource'
  | 'recordInbound'
  | 'listInbound'
  | 'getInbound'
>;

/** Inbound sources and their request log. Each source's events travel as messages of its own app. */
export function makeSources({ prepare, all, commit }: SqliteContext): SourceStore {
  const byId = (id: string) => {
    const row = prepare('SELECT * FROM sources WHERE id = ?').get(id) as SourceRow | undefined;
    return row ? toSource(row) : null;
  };
  const mustGet = (id: string): Source => {
    const source = byId(id);
    if (!source) throw new ApiError('source_not_found');
    return source;
  };

  return {
    createSource: (input) =>
      commit(() => {
        const now = Date.now();
        const id = newId('src', now);
        const appId = newId('app', now);
        // The carrying app is named after the source and keyed by its id, so it is easy to find.
        prepare(
          `INSERT INTO apps (id, uid, name, metadata, rate_limit, created_at, updated_at)
           VALUES (?, ?, ?, ?, NULL, ?, ?)`,
        ).run(appId, id, `source ${input.name}`, JSON.stringify({ hookgateSource: id }), now, now);
        conflictOnUnique(() =>
          prepare(
            `INSERT INTO sources (id, uid, name, type, config, metadata, app_id, token, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ).run(
            id,
            input.uid,
            input.name,
            input.type,
            JSON.stringify(input.config),
            JSON.stringify(input.metadata),
            appId,
            input.token,
            now,
            now,
          ),
        );
        return byId(id)!;
      }),

    getSource: async (idOrUid) => {
      const row = prepare(
        'SELECT * FROM sources WHERE id = ? UNION ALL SELECT * FROM sources WHERE uid = ? LIMIT 1',
      ).get(idOrUid, idOrUid) as SourceRow | undefined;
      return row ? toSource(row) : null;
    },

    listSources: async (page) =>
      pageBy<SourceRow, Source>(all, {
        select: 'SELECT * FROM sources t',
        where: '1 = 1',
        params: [],
        key: 't.id',
        page,
        map: toSource,
        keyOf: (s) => s.id,
      }),

    updateSource: (id, input) =>
      commit(() => {
        mustGet(id);
        conflictOnUnique(() =>
          prepare(
            'UPDATE sources SET uid = ?, name = ?, type = ?, config = ?, metadata = ?, updated_at = ? WHERE id = ?',
          ).run(
            input.uid,
            input.name,
            input.type,
            JSON.stringify(input.config),
            JSON.stringify(input.metadata),
            Date.now(),
            id,
          ),
        );
        return byId(id)!;
      }),

    rotateSourceToken: (id, token) =>
      commit(() => {
        mustGet(id);
        prepare('UPDATE sources SET token = ?, updated_at = ? WHERE id = ?').run(token, Date.now(), id);
        return byId(id)!;
      }),

    deleteSource: (id) =>
      commit(() => {
        deleteAppData(prepare, mustGet(id).appId);
      }),

    recordInbound: (source, request, now) =>
      commit(() => {
        const record = newInboundRecord(source.id, request, now);
        if (request.outcome === 'accepted') {
          const first =
            record.dedupeKey === null
              ? undefined
              : (prepare(
                  `SELECT msg_id FROM inbound_requests
                   WHERE source_id = ? AND dedupe_key = ? AND status = 'accepted' AND created_at >= ?
                   ORDER BY created_at LIMIT 1`,
                )
                  .pluck()
                  .get(source.id, record.dedupeKey, request.dedupeSince) as string | undefined);
          if (first) {
            Object.assign(record, {
              status: 'duplicate',
              statusCode: 200,
              msgId: first,
              reason: `repeats ${first}`,
            });
          } else {
            const message = insertMessage(prepare, source.appId, request.publish, now);
            Object.assign(record, { status: 'accepted', statusCode: 200, msgId: message.id });
          }
        }
        prepare(INSERT_INBOUND).run(...inboundInsertValues(record));
        return record;
      }),

    listInbound: async (sourceId, status, page) =>
      pageBy<InboundRow, InboundRecord>(all, {
        select: 'SELECT * FROM inbound_requests t',
        where: status === null ? 't.source_id = ?' : 't.source_id = ? AND t.status = ?',
        params: status === null ? [sourceId] : [sourceId, status],
        key: 't.id',
        page,
        map: toInbound,
        keyOf: (r) => r.id,
      }),

    getInbound: async (sourceId, id) => {
      const row = prepare('SELECT * FROM inbound_requests WHERE source_id = ? AND id = ?').get(
        sourceId,
        id,
      ) as InboundRow | undefined;
      return row ? toInbound(row) : null;
    },
  };
}
