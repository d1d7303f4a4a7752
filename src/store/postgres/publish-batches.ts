import { ApiError } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import type { Message } from '../../domain/model.js';
import { endpointWants } from '../../domain/routing.js';
import {
  type EndpointRow,
  type MessageRow,
  messageInsertValues,
  newMessage,
  toEndpointFilter,
  toMessage,
} from '../rows.js';
import { REWRITE_IDEMPOTENT_RESPONSE } from '../sql.js';
import type { IdempotentWrite, Published, PublishInput, Store } from '../store.js';
import { coalescedWrite } from './coalesce.js';
import { columnsOf, type PgContext, prepared, type Tx } from './database.js';
import { finishKey } from './idempotency.js';
import { insertMessage, ON_EVENT_ID_CONFLICT } from './publishing.js';

interface Queued {
  appId: string;
  input: PublishInput;
  now: number;
  idempotency: IdempotentWrite<Published> | undefined;
}

/** A keyed publish whose reservation another request took over: it published nothing. */
const LOST = Symbol('reservation lost');

/**
 * Publishes made in the same event-loop turn are stored together (coalescedWrite): one look-up
 * of their apps' endpoints and one statement inserting every message with its deliveries (and
 * the responses of those sent with an Idempotency-Key), instead of two round trips per publish.
 */
export function makePublishBatches(commit: PgContext['commit']): Store['publish'] {
  const publish = coalescedWrite<Queued, Published | typeof LOST>(commit, publishAll, (tx, p) =>
    publishOne(tx, p.appId, p.input, p.now, p.idempotency),
  );
  return async (appId, input, now, idempotency) => {
    const result = await publish({ appId, input, now, idempotency });
    if (result === LOST) throw new ApiError('idempotency_conflict');
    return result;
  };
}

/**
 * One publish, inside the caller's commit: the first message of its eventId if there is one.
 * With `idempotency`, its response is stored with it; an ApiError if the reservation was lost.
 */
export async function publishOne(
  tx: Tx,
  appId: string,
  input: PublishInput,
  now: number,
  idempotency?: IdempotentWrite<Published>,
): Promise<Published> {
  let published: Published | null = null;
  if (input.eventId !== null) {
    const first = await messageByEventId(tx, appId, input.eventId);
    if (first) published = { message: first, created: false };
  }
  if (!published) {
    const message = await insertMessage(tx, appId, input, now);
    // Null: another node published the same eventId meanwhile; its message is the one.
    published = message
      ? { message, created: true }
      : { message: (await messageByEventId(tx, appId, input.eventId!))!, created: false };
  }
  // Thrown, the commit rolls this write back alone (group-commit.ts): nothing was published.
  if (idempotency && !(await finishKey(tx, idempotency.key, idempotency.respond(published))))
    throw new ApiError('idempotency_conflict');
  return published;
}

/** The message an app published with `eventId`, if any. */
export async function messageByEventId(
  q: Pick<Tx, 'rows'>,
  appId: string,
  eventId: string,
): Promise<Message | null> {
  const [row] = await q.rows<MessageRow>(MESSAGE_BY_EVENT_ID, [appId, eventId]);
  return row ? toMessage(row) : null;
}

type SubscriberRow = Pick<EndpointRow, 'id' | 'app_id' | 'event_types' | 'channels'>;

/** A batch of publishes, in order, inside the caller's commit; answers as `publishOne` would. */
async function publishAll(tx: Tx, batch: readonly Queued[]): Promise<Array<Published | typeof LOST>> {
  const apps = [...new Set(batch.map((p) => p.appId))];
  const subscribers = new Map<string, SubscriberRow[]>();
  for (const e of await tx.rows<SubscriberRow>(SUBSCRIBERS_OF_APPS, [apps])) {
    const ofApp = subscribers.get(e.app_id);
    if (ofApp) ofApp.push(e);
    else subscribers.set(e.app_id, [e]);
  }
  const messages = batch.map((p) => newMessage(p.appId, p.input, p.now));
  /** Each delivery's values in INSERT_MESSAGES_WITH_DELIVERIES's order: id, app, message, endpoint, due, now. */
  const deliveries: Array<[string, string, string, string, number, number]> = [];
  for (const [i, p] of batch.entries()) {
    const message = messages[i]!;
    // Scheduled messages (deliverAt) wait in the due index like any retry.
    const dueAt = Math.max(message.deliverAt ?? p.now, p.now);
    for (const e of subscribers.get(p.appId) ?? []) {
      if (!endpointWants(toEndpointFilter(e), message.eventType, message.channels)) continue;
      deliveries.push([newId('dlv', p.now), p.appId, message.id, e.id, dueAt, p.now]);
    }
  }
  // The very objects passed to `respond` are returned (see IdempotentWrite).
  const fresh = messages.map((message): Published => ({ message, created: true }));
  /** Each keyed publish's response, in KEYED_INSERT's order: scope, key, owner, message id, status, body. */
  const responses: Array<[string, string, string, string, number, string]> = [];
  for (const [i, p] of batch.entries()) {
    if (!p.idempotency) continue;
    const { key, respond } = p.idempotency;
    const response = respond(fresh[i]!);
    responses.push([key.scope, key.key, key.owner, messages[i]!.id, response.statusCode, response.body]);
  }
  const messageColumns = columnsOf(messages.map(messageInsertValues), 12);
  const deliveryColumns = columnsOf(deliveries, 6);
  // Without keys, the statement that has no idempotency part: nothing added to the common case.
  const rows =
    responses.length === 0
      ? await tx.rows<{ id: string; inserted: boolean }>(INSERT_MESSAGES_WITH_DELIVERIES, [
          ...messageColumns,
          ...deliveryColumns,
        ])
      : await tx.rows<{ id: string; inserted: boolean }>(KEYED_INSERT, [
          ...columnsOf(responses, 6),
          // The scopes and keys again: the rows' index bounds (a join alone was planned as a scan).
          responses.map(([scope]) => scope),
          responses.map(([, key]) => key),
          ...messageColumns,
          responses.map(([, , , msgId]) => msgId),
          ...deliveryColumns,
        ]);
  const inserted = new Set(rows.filter((r) => r.inserted).map((r) => r.id));
  const held = new Set(rows.filter((r) => !r.inserted).map((r) => r.id));
  if (deliveries.some(([, , msgId]) => inserted.has(msgId))) tx.notifyDue();
  const results: Array<Published | typeof LOST> = [];
  for (const [i, p] of batch.entries()) {
    const message = messages[i]!;
    if (p.idempotency && !held.has(message.id)) results.push(LOST);
    else if (inserted.has(message.id)) results.push(fresh[i]!);
    else {
      // Its eventId was taken: earlier, by another node meanwhile, or earlier in this batch.
      const published = { message: (await messageByEventId(tx, p.appId, p.input.eventId!))!, created: false };
      if (p.idempotency) {
        const { statusCode, body } = p.idempotency.respond(published);
        const { scope, key } = p.idempotency.key;
        await tx.run(REWRITE_RESPONSE, [statusCode, body, scope, key]);
      }
      results.push(published);
    }
  }
  return results;
}

const REWRITE_RESPONSE = prepared(REWRITE_IDEMPOTENT_RESPONSE);

const MESSAGE_COLUMNS =
  'id, app_id, event_type, event_id, payload, payload_bytes, content_type, headers, channels, tags, deliver_at, created_at';

/** A publish whose eventId is taken answers with that message: prepared, its columns named (see Prepared). */
const MESSAGE_BY_EVENT_ID = prepared(
  `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE app_id = ? AND event_id = ?`,
);

/**
 * The enabled endpoints of the apps (their filters are applied here, by endpointWants), each
 * app's read through its index (OFFSET 0: see LEASE_AND_READ in dispatch.ts).
 */
const SUBSCRIBERS_OF_APPS = prepared(`SELECT e.id, e.app_id, e.event_types, e.channels
  FROM unnest(?::text[]) AS a (id)
  CROSS JOIN LATERAL (SELECT id, app_id, event_types, channels FROM endpoints
    WHERE app_id = a.id AND disabled = 0 OFFSET 0) e`);

/**
 * Messages, then deliveries, as arrays: the message columns of INSERT_MESSAGE, then delivery
 * ids, app ids, message ids, endpoint ids, due times, creation times. A message whose eventId is
 * taken is skipped with its deliveries; returns the ids of the messages inserted.
 */
const INSERT_MESSAGES_WITH_DELIVERIES = prepared(`WITH m AS (
    INSERT INTO messages (${MESSAGE_COLUMNS})
    SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bytea[], ?::text[],
      ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[])
    ${ON_EVENT_ID_CONFLICT}
    RETURNING id),
  d AS (
    INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, next_attempt_at, created_at, updated_at)
    SELECT d.id, d.app_id, d.msg_id, d.endpoint_id, 'pending', d.due, d.now, d.now
    FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[])
      AS d (id, app_id, msg_id, endpoint_id, due, now)
    JOIN m ON m.id = d.msg_id)
  SELECT id, true AS inserted FROM m`);

/**
 * INSERT_MESSAGES_WITH_DELIVERIES for a batch with Idempotency-Keys: first the keyed publishes'
 * responses (scopes, keys, owners, message ids, status codes, bodies; then the scopes and keys
 * again), stored under the keys their requests still hold; then the messages and deliveries, a keyed message only if its
 * key's response was stored; then the keyed message ids. One statement, one commit: a crash
 * leaves each key answered with its message, or neither. Returns the messages inserted and,
 * not inserted, the ids of the messages whose keys were held.
 */
const KEYED_INSERT = prepared(`WITH k AS (
    UPDATE idempotency i SET status_code = k.status_code, body = k.body, owner = NULL, locked_until = 0
    FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::integer[], ?::text[])
      AS k (scope, key, owner, msg_id, status_code, body)
    WHERE i.scope = k.scope AND i.key = k.key AND i.owner = k.owner AND i.status_code = 0
      AND i.scope = ANY(?::text[]) AND i.key = ANY(?::text[])
    RETURNING k.msg_id),
  m AS (
    INSERT INTO messages (${MESSAGE_COLUMNS})
    SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bytea[], ?::text[],
      ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[]) AS u (${MESSAGE_COLUMNS})
    WHERE u.id <> ALL(?::text[]) OR u.id IN (SELECT msg_id FROM k)
    ${ON_EVENT_ID_CONFLICT}
    RETURNING id),
  d AS (
    INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, next_attempt_at, created_at, updated_at)
    SELECT d.id, d.app_id, d.msg_id, d.endpoint_id, 'pending', d.due, d.now, d.now
    FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[])
      AS d (id, app_id, msg_id, endpoint_id, due, now)
    JOIN m ON m.id = d.msg_id)
  SELECT id, true AS inserted FROM m
  UNION ALL SELECT msg_id, false FROM k`);
