import { Type } from 'typebox';
import { bodyText } from '../../domain/body.js';
import { ApiError } from '../../domain/errors.js';
import { canonicalLogId } from '../../domain/ids.js';
import type { InboundRecord } from '../../domain/model.js';
import type { Store } from '../../store/store.js';
import { errorResponses, ingestListQueryOf, ListOf } from '../schemas/common.js';
import { InboundListQuery, InboundParams, IngestLogOut, ReplayOut, SourceParams } from '../schemas/ingest.js';
import type { Api, ApiDeps } from '../types.js';
import { loadSource } from './ingest-sources.js';
import { pageQuery } from './paging.js';

const iso = (ms: number) => new Date(ms).toISOString();
/** An iterator naming a log id in either spelling (see canonicalLogId), with its "-" kept. */
const canonicalIterator = (iterator: string) =>
  iterator.startsWith('-') ? `-${canonicalLogId(iterator.slice(1))}` : canonicalLogId(iterator);
/** Deliveries shown per request: a source rarely has more endpoints than this. */
const DELIVERIES_SHOWN = 50;

async function logOut(store: Store, appId: string, r: InboundRecord) {
  const deliveries =
    r.msgId === null
      ? []
      : (
          await store.listDeliveriesOfMessage(appId, r.msgId, {
            limit: DELIVERIES_SHOWN,
            iterator: null,
            order: 'ascending',
          })
        ).data;
  return {
    id: r.id,
    source_id: r.sourceId,
    status: r.status,
    status_code: r.statusCode,
    error_text: r.reason,
    headers: r.headers,
    // A string on the wire (Svix Ingest): bytes that are not UTF-8 are shown with U+FFFD.
    payload: bodyText(r.body),
    event_type: r.eventType,
    msg_id: r.msgId,
    deliveries: deliveries.map((d) => ({
      endpointId: d.endpoint.id,
      status: d.status,
      nextAttempt: d.nextAttemptAt === null ? null : iso(d.nextAttemptAt),
    })),
    created_at: iso(r.createdAt),
    updated_at: iso(r.createdAt),
  };
}

/** Every request a source received, what became of it, and replay of accepted ones. */
export function ingestLogRoutes(api: Api, { store, wakeDispatcher }: ApiDeps): void {
  const tags = ['Ingest Source'];
  const load = async (sourceIdOrUid: string, logId: string) => {
    const source = await loadSource(store, sourceIdOrUid);
    // Ids made before the ingest spec's spelling (`log_…`) were renamed; the old spelling still finds them.
    const record = await store.getInbound(source.id, canonicalLogId(logId));
    if (!record) throw new ApiError('inbound_not_found');
    return { source, record };
  };

  api.get(
    '/ingest/api/v1/source/:source_id/log',
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params: SourceParams,
        querystring: Type.Intersect([ingestListQueryOf('log'), InboundListQuery]),
        response: { 200: ListOf(IngestLogOut), ...errorResponses },
      },
    },
    async (request) => {
      const source = await loadSource(store, request.params.source_id);
      const q = request.query;
      const page = await store.listInbound(
        source.id,
        q.status ?? null,
        pageQuery({ ...q, iterator: q.iterator && canonicalIterator(q.iterator) }, 'descending'),
      );
      return { ...page, data: await Promise.all(page.data.map((r) => logOut(store, source.appId, r))) };
    },
  );

  api.get(
    '/ingest/api/v1/source/:source_id/log/:log_id',
    {
      config: { caller: 'admin' },
      schema: { tags, params: InboundParams, response: { 200: IngestLogOut, ...errorResponses } },
    },
    async (request) => {
      const { source, record } = await load(request.params.source_id, request.params.log_id);
      return logOut(store, source.appId, record);
    },
  );

  api.post(
    '/ingest/api/v1/source/:source_id/log/:log_id/replay',
    {
      config: { caller: 'admin' },
      schema: { tags, params: InboundParams, response: { 202: ReplayOut, ...errorResponses } },
    },
    async (request, reply) => {
      const { source, record } = await load(request.params.source_id, request.params.log_id);
      // A rejected request failed verification: replaying it would forward what nobody vouched for.
      if (record.msgId === null) throw new ApiError('not_replayable');
      const message = await store.getMessage(source.appId, record.msgId);
      if (message && message.expungedAt !== null) throw new ApiError('missing_payload');
      const queued = await store.replayMessage(source.appId, record.msgId, Date.now());
      wakeDispatcher();
      reply.code(202);
      return { msgId: record.msgId, queued };
    },
  );
}
