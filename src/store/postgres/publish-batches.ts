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
import type { PublishInput } from '../store.js';
import { coalescedWrite } from './coalesce.js';
import { columnsOf, type PgContext, prepared, type Tx } from './database.js';
import { insertMessage, ON_EVENT_ID_CONFLICT } from './publishing.js';

export type Published = { message: Message; created: boolean };
type Publish = (appId: string, input: PublishInput, now: number) => Promise<Published>;

interface Queued {
  appId: string;
  input: PublishInput;
  now: number;
}

/**
 * Publishes made in the same event-loop turn are stored together (coalescedWrite): one look-up
 * of their apps' endpoints and one statement inserting every message with its deliveries,
 * instead of two round trips per publish.
 */
export function makePublishBatches(commit: PgContext['commit']): Publish {
  const publish = coalescedWrite<Queued, Published>(commit, publishAll, (tx, p) =>
    publishOne(tx, p.appId, p.input, p.now),
  );
  return (appId, input, now) => publish({ appId, input, now });
}

/** One publish, inside the caller's commit: the first message of its eventId if there is one. */
export async function publishOne(
  tx: Tx,
  appId: string,
  input: PublishInput,
  now: number,
): Promise<Published> {
  if (input.eventId !== null) {
    const first = await messageByEventId(tx, appId, input.eventId);
    if (first) return { message: first, created: false };
  }
  const message = await insertMessage(tx, appId, input, now);
  if (message) return { message, created: true };
  // Another node published the same eventId meanwhile: its message is the one.
  return { message: (await messageByEventId(tx, appId, input.eventId!))!, created: false };
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
async function publishAll(tx: Tx, batch: readonly Queued[]): Promise<Published[]> {
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
  const inserted = new Set(
    (
      await tx.rows<{ id: string }>(INSERT_MESSAGES_WITH_DELIVERIES, [
        ...columnsOf(messages.map(messageInsertValues), 12),
        ...columnsOf(deliveries, 6),
      ])
    ).map((r) => r.id),
  );
  if (deliveries.some(([, , msgId]) => inserted.has(msgId))) tx.notifyDue();
  const results: Published[] = [];
  for (const [i, p] of batch.entries()) {
    const message = messages[i]!;
    if (inserted.has(message.id)) results.push({ message, created: true });
    // Its eventId was taken: earlier, by another node meanwhile, or earlier in this batch.
    else results.push({ message: (await messageByEventId(tx, p.appId, p.input.eventId!))!, created: false });
  }
  return results;
}

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
  SELECT id FROM m`);
