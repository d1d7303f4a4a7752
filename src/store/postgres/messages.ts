import { ApiError } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import type { Attempt, Message } from '../../domain/model.js';
import {
  attemptConditions,
  endpointMessageConditions,
  type JsonArrayHas,
  messageConditions,
} from '../filters.js';
import { pageBy } from '../pagination.js';
import {
  type AttemptRow,
  deliveryStatusText,
  type EndpointRow,
  type MessageRow,
  toAttempt,
  toEndpoint,
  toMessage,
} from '../rows.js';
import { REQUEUE_DELIVERY } from '../sql.js';
import type { DeliveryRow, EndpointMessageRow, Store } from '../store.js';
import type { PgContext, Tx } from './database.js';
import { makePublishBatches, messageByEventId } from './publish-batches.js';
import { subscribedEndpointIds } from './publishing.js';

type MessageStore = Pick<
  Store,
  | 'publish'
  | 'getMessage'
  | 'listMessages'
  | 'resend'
  | 'replayMessage'
  | 'listDeliveriesOfMessage'
  | 'listMessagesOfEndpoint'
  | 'listAttempts'
  | 'getAttempt'
>;

/** PostgreSQL: JSON-array text columns are read with json_array_elements_text. */
const jsonArrayHas: JsonArrayHas = (column) =>
  `EXISTS (SELECT 1 FROM json_array_elements_text(${column}::json) AS v(value) WHERE v.value = ?)`;

export function makeMessages({ rows, commit }: PgContext): MessageStore {
  const reads = { rows };
  const messageById = async (q: Pick<Tx, 'rows'>, appId: string, id: string) => {
    const [row] = await q.rows<MessageRow>('SELECT * FROM messages WHERE app_id = ? AND id = ?', [appId, id]);
    return row ? toMessage(row) : null;
  };
  const requeue = async (tx: Tx, appId: string, msgId: string, endpointIds: string[], now: number) => {
    for (const endpointId of endpointIds) {
      await tx.run(REQUEUE_DELIVERY, [newId('dlv', now), appId, msgId, endpointId, now, now, now]);
    }
    if (endpointIds.length > 0) tx.notifyDue();
  };

  return {
    publish: makePublishBatches(commit),

    getMessage: async (appId, idOrEventId) => {
      const byId = await messageById(reads, appId, idOrEventId);
      if (byId) return byId;
      // Read again by id: the publish path's event-id statement leaves out expunged_at.
      const byEventId = await messageByEventId(reads, appId, idOrEventId);
      return byEventId && (await messageById(reads, appId, byEventId.id));
    },

    listMessages: (appId, filter, page) => {
      const c = messageConditions(appId, filter, jsonArrayHas);
      return pageBy<MessageRow, Message>(rows, {
        select: 'SELECT * FROM messages t',
        where: c.sql.join(' AND '),
        params: c.params,
        key: 't.id',
        page,
        map: toMessage,
        keyOf: (m) => m.id,
      });
    },

    resend: (appId, msgId, endpointId, now) =>
      commit(async (tx) => {
        // Checked again here: retention or the app's deletion may have taken it since the caller looked.
        if (!(await messageById(tx, appId, msgId))) throw new ApiError('message_not_found');
        await requeue(tx, appId, msgId, [endpointId], now);
      }),

    replayMessage: (appId, msgId, now) =>
      commit(async (tx) => {
        const message = await messageById(tx, appId, msgId);
        if (!message) return 0;
        const endpointIds = await subscribedEndpointIds(tx, appId, message.eventType, message.channels);
        await requeue(tx, appId, msgId, endpointIds, now);
        return endpointIds.length;
      }),

    listDeliveriesOfMessage: (appId, msgId, page) => {
      const now = Date.now();
      type Row = EndpointRow & { d_status: string; d_next: number | null; d_locked_until: number };
      return pageBy<Row, DeliveryRow>(rows, {
        select: `SELECT e.*, t.status AS d_status, t.next_attempt_at AS d_next, t.locked_until AS d_locked_until
                 FROM deliveries t JOIN endpoints e ON e.id = t.endpoint_id`,
        where: 't.app_id = ? AND t.msg_id = ?',
        params: [appId, msgId],
        key: 't.endpoint_id',
        page,
        map: (row) => ({
          endpoint: toEndpoint(row),
          status: deliveryStatusText(row.d_status, row.d_locked_until, now),
          nextAttemptAt: row.d_status === 'pending' ? row.d_next : null,
        }),
        keyOf: (d) => d.endpoint.id,
      });
    },

    listMessagesOfEndpoint: (appId, endpointId, filter, page) => {
      const now = Date.now();
      const c = endpointMessageConditions(appId, endpointId, filter, now, jsonArrayHas);
      type Row = MessageRow & { d_status: string; d_next: number | null; d_locked_until: number };
      return pageBy<Row, EndpointMessageRow>(rows, {
        select: `SELECT m.*, t.status AS d_status, t.next_attempt_at AS d_next, t.locked_until AS d_locked_until
                 FROM deliveries t JOIN messages m ON m.id = t.msg_id`,
        where: c.sql.join(' AND '),
        params: c.params,
        key: 't.msg_id',
        page,
        map: (row) => ({
          message: toMessage(row),
          status: deliveryStatusText(row.d_status, row.d_locked_until, now),
          nextAttemptAt: row.d_status === 'pending' ? row.d_next : null,
        }),
        keyOf: (r) => r.message.id,
      });
    },

    listAttempts: (appId, filter, page) => {
      const c = attemptConditions(appId, filter, jsonArrayHas);
      return pageBy<AttemptRow, Attempt>(rows, {
        select: 'SELECT * FROM attempts t',
        where: c.sql.join(' AND '),
        params: c.params,
        key: 't.id',
        page,
        map: toAttempt,
        keyOf: (a) => a.id,
      });
    },

    getAttempt: async (appId, msgId, attemptId) => {
      const [row] = await rows<AttemptRow>(
        'SELECT * FROM attempts WHERE app_id = ? AND msg_id = ? AND id = ?',
        [appId, msgId, attemptId],
      );
      return row ? toAttempt(row) : null;
    },
  };
}
