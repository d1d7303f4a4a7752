import { newId } from '../../domain/ids.js';
import type { Message } from '../../domain/model.js';
import { endpointWants } from '../../domain/routing.js';
import { type EndpointRow, messageInsertValues, newMessage, toEndpointFilter } from '../rows.js';
import { INSERT_DELIVERY, INSERT_MESSAGE } from '../sql.js';
import type { PublishInput } from '../store.js';
import type { Prepare } from './database.js';

/** The enabled endpoints of an app whose filters select this event type and channels. */
export function subscribedEndpointIds(
  prepare: Prepare,
  appId: string,
  eventType: string,
  channels: readonly string[] | null,
): string[] {
  const rows = prepare(
    'SELECT id, event_types, channels FROM endpoints WHERE app_id = ? AND disabled = 0',
  ).all(appId) as Array<Pick<EndpointRow, 'id' | 'event_types' | 'channels'>>;
  return rows.filter((e) => endpointWants(toEndpointFilter(e), eventType, channels)).map((e) => e.id);
}

/** Inserts a message and one due delivery per subscribed endpoint; runs inside the caller's commit. */
export function insertMessage(prepare: Prepare, appId: string, input: PublishInput, now: number): Message {
  const message = newMessage(appId, input, now);
  prepare(INSERT_MESSAGE).run(...messageInsertValues(message));
  // Scheduled messages (deliverAt) wait in the due index like any retry.
  const dueAt = Math.max(message.deliverAt ?? now, now);
  const insertDelivery = prepare(INSERT_DELIVERY);
  for (const endpointId of subscribedEndpointIds(prepare, appId, message.eventType, message.channels)) {
    insertDelivery.run(newId('dlv', now), appId, message.id, endpointId, dueAt, now, now);
  }
  return message;
}
