import { newId } from '../../domain/ids.js';
import type { Message } from '../../domain/model.js';
import { endpointWants } from '../../domain/routing.js';
import { type EndpointRow, jsonOrNull, toEndpointFilter } from '../rows.js';
import { INSERT_DELIVERY, INSERT_MESSAGE } from '../sql.js';
import type { PublishInput } from '../store.js';
import type { Tx } from './database.js';

/** The enabled endpoints of an app whose filters select this event type and channels. */
export async function subscribedEndpointIds(
  tx: Pick<Tx, 'rows'>,
  appId: string,
  eventType: string,
  channels: readonly string[] | null,
): Promise<string[]> {
  const endpoints = await tx.rows<Pick<EndpointRow, 'id' | 'event_types' | 'channels'>>(
    'SELECT id, event_types, channels FROM endpoints WHERE app_id = ? AND disabled = 0',
    [appId],
  );
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
  const message: Message = {
    id: newId('msg', now),
    appId,
    eventType: input.eventType,
    eventId: input.eventId,
    payload: input.payload,
    contentType: input.contentType ?? null,
    headers: input.headers ?? null,
    channels: input.channels,
    tags: input.tags ?? null,
    deliverAt: input.deliverAt ?? null,
    createdAt: now,
  };
  // ON CONFLICT waits for a racing insert of the same eventId to commit, then does nothing.
  const inserted = await tx.run(
    `${INSERT_MESSAGE} ON CONFLICT (app_id, event_id) WHERE event_id IS NOT NULL DO NOTHING`,
    [
      message.id,
      appId,
      message.eventType,
      message.eventId,
      message.payload,
      message.contentType,
      jsonOrNull(message.headers),
      jsonOrNull(message.channels),
      jsonOrNull(message.tags),
      message.deliverAt,
      now,
    ],
  );
  if (inserted === 0) return null;
  const dueAt = Math.max(message.deliverAt ?? now, now);
  const endpointIds = await subscribedEndpointIds(tx, appId, message.eventType, message.channels);
  for (const endpointId of endpointIds) {
    await tx.run(INSERT_DELIVERY, [newId('dlv', now), appId, message.id, endpointId, dueAt, now, now]);
  }
  if (endpointIds.length > 0) tx.notifyDue();
  return message;
}
