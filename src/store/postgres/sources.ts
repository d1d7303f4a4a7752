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
import type { PgContext, Tx } from './database.js';
import { conflictOnUnique } from './errors.js';
import { insertMessage } from './publishing.js';

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
export function makeSources({ rows, commit }: PgContext): SourceStore {
  const byId = async (q: Pick<Tx, 'rows'>, id: string) => {
    const [row] = await q.rows<SourceRow>('SELECT * FROM sources WHERE id = ?', [id]);
    return row ? toSource(row) : null;
  };
  const mustGet = async (tx: Tx, id: string): Promise<Source> => {
    const source = await byId(tx, id);
    if (!source) throw new ApiError('source_not_found');
    return source;
  };

  return {
    createSource: (input) =>
      commit(async (tx) => {
        const now = Date.now();
        const id = newId('src', now);
        const appId = newId('app', now);
        await tx.run(
          `INSERT INTO apps (id, uid, name, metadata, rate_limit, created_at, updated_at)
           VALUES (?, ?, ?, ?, NULL, ?, ?)`,
          [appId, id, `source ${input.name}`, JSON.stringify({ hookgateSource: id }), now, now],
        );
        await conflictOnUnique(() =>
          tx.run(
            `INSERT INTO sources (id, uid, name, type, config, metadata, app_id, token, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            [
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
            ],
          ),
        );
        return (await byId(tx, id))!;
      }),

    getSource: async (idOrUid) => {
      const [row] = await rows<SourceRow>(
        '(SELECT * FROM sources WHERE id = ?) UNION ALL (SELECT * FROM sources WHERE uid = ?) LIMIT 1',
        [idOrUid, idOrUid],
      );
      return row ? toSource(row) : null;
    },

    listSources: (page) =>
      pageBy<SourceRow, Source>(rows, {
        select: 'SELECT * FROM sources t',
        where: '1 = 1',
        params: [],
        key: 't.id',
        page,
        map: toSource,
        keyOf: (s) => s.id,
      }),

    updateSource: (id, input) =>
      commit(async (tx) => {
        await mustGet(tx, id);
        await conflictOnUnique(() =>
          tx.run(
            'UPDATE sources SET uid = ?, name = ?, type = ?, config = ?, metadata = ?, updated_at = ? WHERE id = ?',
            [
              input.uid,
              input.name,
              input.type,
              JSON.stringify(input.config),
              JSON.stringify(input.metadata),
              Date.now(),
              id,
            ],
          ),
        );
        return (await byId(tx, id))!;
      }),

    rotateSourceToken: (id, token) =>
      commit(async (tx) => {
        await mustGet(tx, id);
        await tx.run('UPDATE sources SET token = ?, updated_at = ? WHERE id = ?', [token, Date.now(), id]);
        return (await byId(tx, id))!;
      }),

    deleteSource: (id) => commit(async (tx) => deleteAppData(tx, (await mustGet(tx, id)).appId)),

    recordInbound: (source, request, now) =>
      commit(async (tx) => {
        const record = newInboundRecord(source.id, request, now);
        if (request.outcome === 'accepted') {
          if (record.dedupeKey !== null) {
            // Serialise requests carrying the same delivery id, so two nodes receiving a provider's
            // retry at once cannot both accept it.
            await tx.rows('SELECT pg_advisory_xact_lock(hashtext(?))', [`${source.id}\n${record.dedupeKey}`]);
          }
          const [first] =
            record.dedupeKey === null
              ? []
              : await tx.rows<{ msg_id: string }>(
                  `SELECT msg_id FROM inbound_requests
                   WHERE source_id = ? AND dedupe_key = ? AND status = 'accepted' AND created_at >= ?
                   ORDER BY created_at LIMIT 1`,
                  [source.id, record.dedupeKey, request.dedupeSince],
                );
          if (first) {
            Object.assign(record, {
              status: 'duplicate',
              statusCode: 200,
              msgId: first.msg_id,
              reason: `repeats ${first.msg_id}`,
            });
          } else {
            const message = await insertMessage(tx, source.appId, request.publish, now);
            Object.assign(record, { status: 'accepted', statusCode: 200, msgId: message!.id });
          }
        }
        await tx.run(INSERT_INBOUND, inboundInsertValues(record));
        return record;
      }),

    listInbound: (sourceId, status, page) =>
      pageBy<InboundRow, InboundRecord>(rows, {
        select: 'SELECT * FROM inbound_requests t',
        where: status === null ? 't.source_id = ?' : 't.source_id = ? AND t.status = ?',
        params: status === null ? [sourceId] : [sourceId, status],
        key: 't.id',
        page,
        map: toInbound,
        keyOf: (r) => r.id,
      }),

    getInbound: async (sourceId, id) => {
      const [row] = await rows<InboundRow>('SELECT * FROM inbound_requests WHERE source_id = ? AND id = ?', [
        sourceId,
        id,
      ]);
      return row ? toInbound(row) : null;
    },
  };
}
