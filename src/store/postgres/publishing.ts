import { newId } from '../../domain/ids.js';
import type { Message } from '../../domain/model.js';
import { endpointWants } from '../../domain/routing.js';
import { type EndpointRow, messageInsertValues, newMessage, toEndpointFilter } from '../rows.js';
import { INSERT_MESSAGE } from '../sql.js';
import type { PublishInput } from '../store.js';
import { prepared, type Tx } from './database.js';

/** The enabled endpoints of an app whose filters select this event type and channels. */
export async function subscribedEndpointIds(
  tx: Pick<Tx, 'rows'>,
  appId: string,
  eventType: string,
  channels: readonly string[] | null,
): Promise<string[]> {
  const endpoints = await tx.rows<Pick<EndpointRow, 'id' | 'event_types' | 'channels'>>(SUBSCRIBERS, [appId]);
  return endpoints.filter((e) => endpointWants(toEndpointFilter(e), eventType, channels)).map((e) => e.id);
}

/**
 * Inserts a message and one due delivery per subscribed endpoint, inside the caller's commit.
 * Returns null when another transaction stored the same `eventId` first (nodes racing).
 */
export async function insertMessage(
  tx: Tx,
  appId: string,
  input: PublishInput,
  now: number,
): Promise<Message | null> {
  const message = newMessage(appId, input, now);
  const values = messageInsertValues(message);
  const endpointIds = await subscribedEndpointIds(tx, appId, message.eventType, message.channels);
  // ON CONFLICT waits for a racing insert of the same eventId to commit, then does nothing.
  if (endpointIds.length === 0) {
    return (await tx.run(INSERT_MESSAGE_ALONE, values)) === 0 ? null : message;
  }
  // The message and its deliveries in one round trip: no deliveries when the message was not new.
  const dueAt = Math.max(message.deliverAt ?? now, now);
  const inserted = await tx.run(INSERT_MESSAGE_WITH_DELIVERIES, [
    ...values,
    appId,
    dueAt,
    now,
    now,
    endpointIds.map(() => newId('dlv', now)),
    endpointIds,
  ]);
  if (inserted === 0) return null;
  tx.notifyDue();
  return message;
}

const SUBSCRIBERS = prepared(
  'SELECT id, event_types, channels FROM endpoints WHERE app_id = ? AND disabled = 0',
);

export const ON_EVENT_ID_CONFLICT = 'ON CONFLICT (app_id, event_id) WHERE event_id IS NOT NULL DO NOTHING';

const INSERT_MESSAGE_ALONE = prepared(`${INSERT_MESSAGE} ${ON_EVENT_ID_CONFLICT}`);

/** INSERT_MESSAGE's parameters, then app id, due time, now, now, delivery ids, endpoint ids. */
const INSERT_MESSAGE_WITH_DELIVERIES =
  prepared(`WITH m AS (${INSERT_MESSAGE} ${ON_EVENT_ID_CONFLICT} RETURNING id)
  INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, next_attempt_at, created_at, updated_at)
  SELECT d.id, ?, m.id, d.endpoint_id, 'pending', ?, ?, ?
  FROM m, unnest(?::text[], ?::text[]) AS d (id, endpoint_id)`);
