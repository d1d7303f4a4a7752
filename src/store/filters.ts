import type { MessageStatusText } from '../domain/model.js';
import { DELIVERY_STATUS_CONDITIONS, timeRangeSql } from './sql.js';
import type { AttemptFilter, MessageFilter } from './store.js';

/**
 * The WHERE clauses of the message, attempt and endpoint-message lists, for both stores (`?`
 * placeholders). The one dialect difference, testing membership of a JSON-array text column,
 * comes in as `jsonArrayHas`.
 */
export interface Conditions {
  sql: string[];
  params: unknown[];
}

/** SQL that is true when the JSON array in `column` contains the next parameter. */
export type JsonArrayHas = (column: string) => string;

function addTimeRange(
  c: Conditions,
  range: { since: number | null; until: number | null },
  column: string,
): void {
  const r = timeRangeSql(range, column);
  c.sql.push(...r.sql);
  c.params.push(...r.params);
}

/** Filters on the message (event type, channel, tag) of a row whose message id is `msgIdColumn`. */
function addMessageFilters(
  c: Conditions,
  f: MessageFilter | AttemptFilter,
  msgIdColumn: string,
  jsonArrayHas: JsonArrayHas,
): void {
  const subject = msgIdColumn === 't.id' ? 't' : 'm';
  const inner: string[] = [];
  if (f.eventTypes?.length) {
    inner.push(`${subject}.event_type IN (${f.eventTypes.map(() => '?').join(', ')})`);
    c.params.push(...f.eventTypes);
  }
  if (f.channel !== null) {
    inner.push(jsonArrayHas(`${subject}.channels`));
    c.params.push(f.channel);
  }
  if ('tag' in f && f.tag) {
    inner.push(jsonArrayHas(`${subject}.tags`));
    c.params.push(f.tag);
  }
  if (inner.length === 0) return;
  c.sql.push(
    subject === 't'
      ? inner.join(' AND ')
      : `EXISTS (SELECT 1 FROM messages m WHERE m.id = ${msgIdColumn} AND ${inner.join(' AND ')})`,
  );
}

/** Messages of an app (table `messages t`). */
export function messageConditions(appId: string, f: MessageFilter, jsonArrayHas: JsonArrayHas): Conditions {
  const c: Conditions = { sql: ['t.app_id = ?'], params: [appId] };
  addTimeRange(c, f, 't.created_at');
  addMessageFilters(c, f, 't.id', jsonArrayHas);
  return c;
}

/** An endpoint's deliveries (`deliveries t JOIN messages m`), by their reported status. */
export function endpointMessageConditions(
  appId: string,
  endpointId: string,
  f: MessageFilter & { status: MessageStatusText | null },
  now: number,
  jsonArrayHas: JsonArrayHas,
): Conditions {
  const c: Conditions = { sql: ['t.app_id = ?', 't.endpoint_id = ?'], params: [appId, endpointId] };
  if (f.status !== null) {
    const [sql, ...params] = DELIVERY_STATUS_CONDITIONS[f.status](now);
    c.sql.push(sql);
    c.params.push(...params);
  }
  addTimeRange(c, f, 'm.created_at');
  addMessageFilters(c, f, 't.msg_id', jsonArrayHas);
  return c;
}

/** Attempts of an app (table `attempts t`). */
export function attemptConditions(appId: string, f: AttemptFilter, jsonArrayHas: JsonArrayHas): Conditions {
  const c: Conditions = { sql: ['t.app_id = ?'], params: [appId] };
  if (f.endpointId !== undefined) {
    c.sql.push('t.endpoint_id = ?');
    c.params.push(f.endpointId);
  }
  if (f.msgId !== undefined) {
    c.sql.push('t.msg_id = ?');
    c.params.push(f.msgId);
  }
  if (f.status !== null) {
    // Attempts are finished: only success (0) and fail (2) can match.
    c.sql.push(f.status === 0 ? 't.succeeded = 1' : f.status === 2 ? 't.succeeded = 0' : '0 = 1');
  }
  if (f.statusCodeClass !== null) {
    if (f.statusCodeClass === 0) c.sql.push('t.status_code = 0');
    else {
      c.sql.push('t.status_code >= ? AND t.status_code < ?');
      c.params.push(f.statusCodeClass, f.statusCodeClass + 100);
    }
  }
  addTimeRange(c, f, 't.created_at');
  addMessageFilters(c, f, 't.msg_id', jsonArrayHas);
  return c;
}
