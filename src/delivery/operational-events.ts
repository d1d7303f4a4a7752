import { coerceError } from '../domain/errors.js';
import type { App, Endpoint } from '../domain/model.js';
import {
  attemptEvent,
  endpointDisabledEvent,
  endpointEnabledEvent,
  eventsForAttempt,
  OPERATIONAL_APP_UID,
  type OperationalEvent,
} from '../domain/operational.js';
import type { Store } from '../store/store.js';
import type { AttemptRecorded } from './dispatcher.js';

/**
 * Publishes operational events as messages of the reserved operational app, so they are stored,
 * signed, retried and listed like any other message. Best effort: an event is published after the
 * attempt that caused it is recorded, so a crash in between loses the event, never the attempt.
 */

/**
 * Publishes `event` about `subject` (the app it concerns). Nothing happens when no operational app
 * exists yet (nobody listens) or when the event is about that app's own endpoints: operational
 * deliveries never raise operational events, so a failing operational receiver cannot loop.
 */
async function publish(
  store: Store,
  wake: () => void,
  subject: App,
  event: OperationalEvent,
  eventId: string,
): Promise<void> {
  const operational = await store.getApp(OPERATIONAL_APP_UID);
  if (!operational || operational.id === subject.id) return;
  const { created } = await store.publish(
    operational.id,
    { eventType: event.type, eventId, payload: JSON.stringify(event), channels: null },
    Date.now(),
  );
  if (created) wake();
}

/** The operational events a recorded attempt calls for. */
const eventsFor = ({ attempt, next, attemptNumber, control, endpointDisabled }: AttemptRecorded) =>
  eventsForAttempt({
    attemptNumber,
    succeeded: attempt.succeeded,
    next: next.kind,
    control,
    endpointDisabled: endpointDisabled !== null,
  });

/** Raises the events one recorded attempt calls for (see eventsForAttempt). */
export async function announceAttempt(
  store: Store,
  wake: () => void,
  recorded: AttemptRecorded,
): Promise<void> {
  const { attempt } = recorded;
  const types = eventsFor(recorded);
  if (types.length === 0) return;
  const subject = await store.getApp(attempt.appId);
  // The operational app's own deliveries raise nothing (publish checks by id; this saves lookups).
  if (!subject || subject.uid === OPERATIONAL_APP_UID) return;
  for (const type of types) {
    if (type === 'endpoint.disabled') {
      // Only if the answer really disabled it (the attempt's lease may have been lost meanwhile).
      // The eventId makes concurrent 410s recorded in one batch raise one event.
      const endpoint = await store.getEndpoint(subject.id, attempt.endpointId);
      if (!endpoint?.disabled) continue;
      const event = endpointDisabledEvent(subject, endpoint, 'automatic');
      await publish(store, wake, subject, event, `${type}.${endpoint.id}.${endpoint.updatedAt}`);
    } else if (type !== 'endpoint.enabled') {
      const message = await store.getMessage(subject.id, attempt.msgId);
      const event = attemptEvent(type, subject, message?.eventId ?? null, attempt);
      await publish(store, wake, subject, event, `${type}.${attempt.id}`);
    }
  }
}

/** Raises `endpoint.enabled` or `endpoint.disabled` (manual) when an API edit flipped the endpoint. */
export async function announceEndpointChange(
  store: Store,
  wake: () => void,
  before: Endpoint,
  after: Endpoint,
): Promise<void> {
  if (before.disabled === after.disabled) return;
  const subject = await store.getApp(after.appId);
  if (!subject) return;
  const event = after.disabled
    ? endpointDisabledEvent(subject, after, 'manual')
    : endpointEnabledEvent(subject, after);
  await publish(store, wake, subject, event, `${event.type}.${after.id}.${after.updatedAt}`);
}

export interface OperationalHookOptions {
  store: Store;
  /** Wakes the dispatcher once an event is committed. */
  wake: () => void;
  /** Receives publishing failures and dropped events; never throws back. */
  onError: (error: Error) => void;
  /** Events being published at once, at most; past it new ones are dropped and reported. Default 1000. */
  maxPending?: number;
}

/**
 * The dispatcher's `onAttempt` hook for operational events. Deciding is a pure function and costs
 * nothing for the common attempt that raises no event; publishing runs beside delivery, bounded,
 * and its failures go to `onError` only.
 */
export function operationalEventHook(options: OperationalHookOptions) {
  const { store, wake, onError } = options;
  const maxPending = options.maxPending ?? 1000;
  let pending = 0;
  return function announce(recorded: AttemptRecorded): Promise<void> | undefined {
    if (eventsFor(recorded).length === 0) return undefined;
    if (pending >= maxPending) {
      onError(new Error(`operational event for ${recorded.attempt.id} dropped: ${pending} already pending`));
      return undefined;
    }
    pending++;
    // Not even the first lookup runs inside the dispatcher's turn.
    return new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => announceAttempt(store, wake, recorded))
      .catch((e) => onError(coerceError(e)))
      .finally(() => {
        pending--;
      });
  };
}
