import { bodyText } from '../domain/body.js';
import { jsonDepthExceeds } from '../domain/json-depth.js';
import type { App, Attempt, Endpoint, EventType, Message } from '../domain/model.js';
import { MESSAGE_STATUS } from '../domain/model.js';
import type { DeliveryRow, EndpointMessageRow } from '../store/store.js';

/** Domain records to Svix wire shapes (camelCase, ISO times, both old and new field names). */
const iso = (ms: number) => new Date(ms).toISOString();

export function appOut(a: App) {
  return {
    id: a.id,
    uid: a.uid,
    name: a.name,
    metadata: a.metadata,
    rateLimit: a.rateLimit,
    throttleRate: a.rateLimit,
    createdAt: iso(a.createdAt),
    updatedAt: iso(a.updatedAt),
  };
}

/** `withContent` false leaves out the schemas (Svix's `with_content`: "including the schema"). */
export function eventTypeOut(e: EventType, withContent = true) {
  return {
    name: e.name,
    description: e.description,
    archived: e.archived,
    deprecated: e.deprecated,
    featureFlag: e.featureFlag,
    ...(withContent ? { schemas: e.schemas } : {}),
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
  };
}

export function endpointOut(e: Endpoint) {
  return {
    id: e.id,
    uid: e.uid,
    url: e.url,
    description: e.description,
    disabled: e.disabled,
    filterTypes: e.eventTypes,
    eventTypes: e.eventTypes,
    channels: e.channels,
    metadata: e.metadata,
    rateLimit: e.rateLimit,
    throttleRate: e.rateLimit,
    version: 1,
    disabledReason: e.disabledReason,
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
  };
}

export function messageOut(m: Message, withContent: boolean, parsedPayload?: unknown) {
  return {
    id: m.id,
    eventType: m.eventType,
    eventId: m.eventId,
    channels: m.channels,
    tags: m.tags,
    deliverAt: m.deliverAt === null ? null : iso(m.deliverAt),
    payload: withContent ? (parsedPayload ?? payloadValue(m)) : {},
    timestamp: iso(m.createdAt),
  };
}

/**
 * JSON payloads as JSON; a provider's form-encoded or other raw body as its text (bytes that are
 * not UTF-8 shown with U+FFFD: the exact bytes are what endpoints receive), and so is a
 * provider's JSON nested too deeply to serialise again (published payloads are refused first).
 */
function payloadValue(m: Message): unknown {
  const text = bodyText(m.payload);
  if ((m.contentType === null || /json/i.test(m.contentType)) && !jsonDepthExceeds(text)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** `withContent` false leaves out the response body (Svix's `with_content` on attempts). */
export function attemptOut(a: Attempt, withContent = true) {
  const status = a.succeeded ? 'success' : 'fail';
  return {
    id: a.id,
    msgId: a.msgId,
    endpointId: a.endpointId,
    url: a.url,
    // Svix's `response` is a string: a receiver's bytes that are not UTF-8 are shown with U+FFFD.
    ...(withContent ? { response: bodyText(a.response) } : {}),
    responseStatusCode: a.responseStatusCode,
    responseDurationMs: a.durationMs,
    status: MESSAGE_STATUS[status],
    statusText: status,
    triggerType: a.trigger === 'manual' ? 1 : 0,
    timestamp: iso(a.createdAt),
  } as const;
}

export function messageEndpointOut(d: DeliveryRow) {
  const e = d.endpoint;
  return {
    id: e.id,
    uid: e.uid,
    url: e.url,
    description: e.description,
    disabled: e.disabled,
    channels: e.channels,
    filterTypes: e.eventTypes,
    eventTypes: e.eventTypes,
    rateLimit: e.rateLimit,
    throttleRate: e.rateLimit,
    version: 1,
    status: MESSAGE_STATUS[d.status],
    statusText: d.status,
    nextAttempt: d.nextAttemptAt === null ? null : iso(d.nextAttemptAt),
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
  };
}

export function endpointMessageOut(r: EndpointMessageRow, withContent: boolean) {
  return {
    ...messageOut(r.message, withContent),
    status: MESSAGE_STATUS[r.status],
    statusText: r.status,
    nextAttempt: r.nextAttemptAt === null ? null : iso(r.nextAttemptAt),
  };
}

export function timeParam(value: string | null | undefined): number | null {
  return value ? Date.parse(value) : null;
}
