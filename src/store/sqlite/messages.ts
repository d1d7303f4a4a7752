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
import type { DeliveryRow, EndpointMessageRow, Published, Store } from '../store.js';
import type { SqliteContext } from './database.js';
import { finishKey } from './idempotency.js';
import { insertMessage, subscribedEndpointIds } from './publishing.js';

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

/** SQLite: JSON arrays are read with json_each. */
const jsonArrayHas: JsonArrayHas = (column) => `EXISTS (SELECT 1 FROM json_each(${column}) WHERE value = ?)`;

export function makeMessages({ prepare, all, commit }: SqliteContext): MessageStore {
  const messageById = (appId: string, id: string) => {
    const row = prepare('SELECT * FROM messages WHERE app_id = ? AND id = ?').get(appId, id) as
      | MessageRow
      | undefined;
    return row ? toMessage(row) : null;
  };
  const messageByEventId = (appId: string, eventId: string) => {
    const row = prepare('SELECT * FROM messages WHERE app_id = ? AND event_id = ?').get(appId, eventId) as
      | MessageRow
      | undefined;
    return row ? toMessage(row) : null;
  };

  return {
    publish: (appId, input, now, idempotency) =>
      commit(() => {
        let published: Published | null = null;
        if (input.eventId !== null) {
          const first = messageByEventId(appId, input.eventId);
          if (first) published = { message: first, created: false };
        }
        published ??= { message: insertMessage(prepare, appId, input, now), created: true };
        // In the message's commit: a crash leaves the key answered with it, or nothing at all.
        if (idempotency && !finishKey(prepare, idempotency.key, idempotency.respond(published))) {
          // Its reservation was taken over (lease ran out): that request publishes, not this one.
          throw new ApiError('idempotency_conflict');
        }
        return published;
      }),

    getMessage: async (appId, idOrEventId) =>
      messageById(appId, idOrEventId) ?? messageByEventId(appId, idOrEventId),

    listMessages: async (appId, filter, page) => {
      const c = messageConditions(appId, filter, jsonArrayHas);
      return pageBy<MessageRow, Message>(all, {
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
      commit(() => {
        // Checked again here: retention or the app's deletion may have taken it since the caller looked.
        if (!messageById(appId, msgId)) throw new ApiError('message_not_found');
        prepare(REQUEUE_DELIVERY).run(newId('dlv', now), appId, msgId, endpointId, now, now, now);
      }),

    replayMessage: (appId, msgId, now) =>
      commit(() => {
        const message = messageById(appId, msgId);
        if (!message) return 0;
        const requeue = prepare(REQUEUE_DELIVERY);
        const endpointIds = subscribedEndpointIds(prepare, appId, message.eventType, message.channels);
        for (const endpointId of endpointIds)
          requeue.run(newId('dlv', now), appId, msgId, endpointId, now, now, now);
        return endpointIds.length;
      }),

    listDeliveriesOfMessage: async (appId, msgId, page) => {
      const now = Date.now();
      type Row = EndpointRow & { d_status: string; d_next: number | null; d_locked_until: number };
      return pageBy<Row, DeliveryRow>(all, {
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

    listMessagesOfEndpoint: async (appId, endpointId, filter, page) => {
      const now = Date.now();
      const c = endpointMessageConditions(appId, endpointId, filter, now, jsonArrayHas);
      type Row = MessageRow & { d_status: string; d_next: number | null; d_locked_until: number };
      return pageBy<Row, EndpointMessageRow>(all, {
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

    listAttempts: async (appId, filter, page) => {
      const c = attemptConditions(appId, filter, jsonArrayHas);
      return pageBy<AttemptRow, Attempt>(all, {
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
      const row = prepare('SELECT * FROM attempts WHERE app_id = ? AND msg_id = ? AND id = ?').get(
        appId,
        msgId,
        attemptId,
      ) as AttemptRow | undefined;
      return row ? toAttempt(row) : null;
    },
  };
}
