/**
 * Operational webhooks: events about Hookgate's own deliveries (an endpoint disabled, a message
 * failing), sent to the operator's endpoints. Payloads follow Svix's operational webhook shapes
 * (`{type, data}`, camelCase, ISO times), so receivers written for hosted Svix parse them as is.
 */
import type { App, Attempt, Endpoint } from './model.js';
import type { DeliveryControl, DeliveryNext } from './retry.js';

/** The reserved application whose endpoints receive operational events. */
export const OPERATIONAL_APP_UID = 'hookgate-operational';
export const OPERATIONAL_APP_NAME = 'Hookgate operational webhooks';

/** Svix sends `message.attempt.failing` on the fourth failed attempt of a delivery. */
export const FAILING_AFTER_ATTEMPTS = 4;

export type OperationalEventType =
  | 'endpoint.disabled'
  | 'endpoint.enabled'
  | 'message.attempt.failing'
  | 'message.attempt.exhausted'
  | 'message.attempt.recovered';

export interface OperationalEvent {
  type: OperationalEventType;
  data: Record<string, unknown>;
}

/** One attempt as the dispatcher recorded it. */
export interface RecordedAttempt {
  /** 1-based number of the attempt in its delivery's current retry cycle. */
  attemptNumber: number;
  succeeded: boolean;
  next: DeliveryNext['kind'];
  control: DeliveryControl | null;
  /** Recording the attempt disabled the endpoint (receiver's answer, or failing for too long). */
  endpointDisabled: boolean;
}

/**
 * Which operational events one recorded attempt raises (Svix semantics):
 * - `endpoint.disabled` when recording the attempt disabled the endpoint: the receiver's answer
 *   (410, `webhook-delivery: disable` on a failure or a success) or failures without a success for too long;
 * - `message.attempt.failing` on the fourth failure of a delivery;
 * - `message.attempt.exhausted` when a failure used up the retry schedule;
 * - `message.attempt.recovered` on a success after a `failing` event was sent for the delivery.
 * A receiver that answered `webhook-delivery: abort-message` asked for the failure: no event.
 */
export function eventsForAttempt(a: RecordedAttempt): OperationalEventType[] {
  if (a.next === 'succeeded' || a.next === 'succeeded_and_disable_endpoint') {
    const events: OperationalEventType[] = a.endpointDisabled ? ['endpoint.disabled'] : [];
    if (a.attemptNumber > FAILING_AFTER_ATTEMPTS) events.push('message.attempt.recovered');
    return events;
  }
  if (a.next === 'failed_and_disable_endpoint') return a.endpointDisabled ? ['endpoint.disabled'] : [];
  if (a.control === 'abort-message') return [];
  const events: OperationalEventType[] = a.endpointDisabled ? ['endpoint.disabled'] : [];
  if (a.attemptNumber === FAILING_AFTER_ATTEMPTS) events.push('message.attempt.failing');
  if (a.next === 'failed') events.push('message.attempt.exhausted');
  return events;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Svix's EndpointDisabledEvent; `manual` when disabled through the API, `automatic` by a receiver. */
export function endpointDisabledEvent(
  app: App,
  endpoint: Endpoint,
  trigger: 'manual' | 'automatic',
): OperationalEvent {
  return {
    type: 'endpoint.disabled',
    data: {
      appId: app.id,
      appUid: app.uid,
      endpointId: endpoint.id,
      endpointUid: endpoint.uid,
      failSince: endpoint.failingSince === null ? null : iso(endpoint.failingSince),
      trigger,
    },
  };
}

/** Svix's EndpointEnabledEvent. */
export function endpointEnabledEvent(app: App, endpoint: Endpoint): OperationalEvent {
  return {
    type: 'endpoint.enabled',
    data: { appId: app.id, appUid: app.uid, endpointId: endpoint.id, endpointUid: endpoint.uid },
  };
}

/** Svix's MessageAttempt{Failing,Exhausted,Recovered}Event: the message and its latest attempt. */
export function attemptEvent(
  type: 'message.attempt.failing' | 'message.attempt.exhausted' | 'message.attempt.recovered',
  app: App,
  msgEventId: string | null,
  attempt: Attempt,
): OperationalEvent {
  return {
    type,
    data: {
      appId: app.id,
      appUid: app.uid,
      endpointId: attempt.endpointId,
      msgId: attempt.msgId,
      msgEventId,
      lastAttempt: {
        id: attempt.id,
        responseStatusCode: attempt.responseStatusCode,
        timestamp: iso(attempt.createdAt),
      },
    },
  };
}
