import { newId } from '../../domain/ids.js';
import type { Attempt, Message } from '../../domain/model.js';
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
import { DELIVERY_STATUS_CONDITIONS, REQUEUE_DELIVERY, timeRangeSql } from '../sql.js';
import type {
  AttemptFilter,
  DeliveryRow,
  EndpointMessageRow,
  MessageFilter,
  Store,
  TimeRange,
} from '../store.js';
import type { SqliteContext } from './database.js';
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

interface Conditions {
  sql: string[];
  params: unknown[];
}

function addTimeRange(c: Conditions, range: TimeRange, column: string): void {
  const r = timeRangeSql(range, column);
  c.sql.push(...r.sql);
  c.params.push(...r.params);
}

/** Filters on the message (event type, channel) of a row whose message id is `msgIdColumn`. */
function addMessageFilters(c: Conditions, f: MessageFilter | AttemptFilter, msgIdColumn: string): void {
  const subject = msgIdColumn === 't.id' ? 't' : 'm';
  const inner: string[] = [];
  if (f.eventTypes?.length) {
    inner.push(`${subject}.event_type IN (${f.eventTypes.map(() => '?').join(', ')})`);
    c.params.push(...f.eventTypes);
  }
  if (f.channel !== null) {
    inner.push(`EXISTS (SELECT 1 FROM json_each(${subject}.channels) WHERE value = ?)`);
    c.params.push(f.channel);
  }
  if ('tag' in f && f.tag) {
    inner.push(`EXISTS (SELECT 1 FROM json_each(${subject}.tags) WHERE value = ?)`);
    c.params.push(f.tag);
  }
  if (inner.length === 0) return;
  c.sql.push(
    subject === 't'
      ? inner.join(' AND ')
      : `EXISTS (SELECT 1 FROM messages m WHERE m.id = ${msgIdColumn} AND ${inner.join(' AND ')})`,
  );
}

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
    publish: (appId, input, now) =>
      commit(() => {
        if (input.eventId !== null) {
          const first = messageByEventId(appId, input.eventId);
          if (first) return { message: first, created: false };
        }
        const message = insertMessage(prepare, appId, input, now);
        return { message, created: true };
      }),

    getMessage: async (appId, idOrEventId) =>
      messageById(appId, idOrEventId) ?? messageByEventId(appId, idOrEventId),

    listMessages: async (appId, filter, page) => {
      const c: Conditions = { sql: ['t.app_id = ?'], params: [appId] };
      addTimeRange(c, filter, 't.created_at');
      addMessageFilters(c, filter, 't.id');
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
      const c: Conditions = { sql: ['t.app_id = ?', 't.endpoint_id = ?'], params: [appId, endpointId] };
      if (filter.status !== null) {
        const [sql, ...params] = DELIVERY_STATUS_CONDITIONS[filter.status](now);
        c.sql.push(sql);
        c.params.push(...params);
      }
      addTimeRange(c, filter, 'm.created_at');
      addMessageFilters(c, filter, 't.msg_id');
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
      const c: Conditions = { sql: ['t.app_id = ?'], params: [appId] };
      if (filter.endpointId !== undefined) {
        c.sql.push('t.endpoint_id = ?');
        c.params.push(filter.endpointId);
      }
      if (filter.msgId !== undefined) {
        c.sql.push('t.msg_id = ?');
        c.params.push(filter.msgId);
      }
      if (filter.status !== null) {
        // Attempts are finished: only success (0) and fail (2) can match.
        c.sql.push(
          filter.status === 0 ? 't.succeeded = 1' : filter.status === 2 ? 't.succeeded = 0' : '0 = 1',
        );
      }
      if (filter.statusCodeClass !== null) {
        if (filter.statusCodeClass === 0) c.sql.push('t.status_code = 0');
        else {
          c.sql.push('t.status_code >= ? AND t.status_code < ?');
          c.params.push(filter.statusCodeClass, filter.statusCodeClass + 100);
        }
      }
      addTimeRange(c, filter, 't.created_at');
      addMessageFilters(c, filter, 't.msg_id');
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
