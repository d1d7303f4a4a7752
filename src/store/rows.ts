import type { DisabledReason, FailureStreak } from '../domain/health.js';
import { newId } from '../domain/ids.js';
import type {
  App,
  Attempt,
  Endpoint,
  EventType,
  InboundRecord,
  InboundStatus,
  Message,
  MessageStatusText,
  Source,
} from '../domain/model.js';
import { bodyColumns, bodyFromColumns, storableText } from './bytes.js';
import type { InboundInput, PublishInput } from './store.js';

/**
 * Row shapes as both stores return them (the schemas use the same column names and types:
 * epoch-ms integers, 0/1 flags, JSON as text), and their mapping to domain records.
 */
export interface AppRow {
  id: string;
  uid: string | null;
  name: string;
  metadata: string;
  rate_limit: number | null;
  created_at: number;
  updated_at: number;
}

export function toApp(r: AppRow): App {
  return {
    id: r.id,
    uid: r.uid,
    name: r.name,
    metadata: JSON.parse(r.metadata),
    rateLimit: r.rate_limit,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface EventTypeRow {
  name: string;
  description: string;
  archived: number;
  deprecated: number;
  feature_flag: string | null;
  schemas: string | null;
  created_at: number;
  updated_at: number;
}

export function toEventType(r: EventTypeRow): EventType {
  return {
    name: r.name,
    description: r.description,
    archived: r.archived === 1,
    deprecated: r.deprecated === 1,
    featureFlag: r.feature_flag,
    schemas: r.schemas === null ? null : JSON.parse(r.schemas),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface EndpointRow {
  id: string;
  app_id: string;
  uid: string | null;
  url: string;
  description: string;
  disabled: number;
  event_types: string | null;
  channels: string | null;
  metadata: string;
  rate_limit: number | null;
  headers: string;
  secrets: string;
  disabled_reason: string | null;
  failing_since: number | null;
  created_at: number;
  updated_at: number;
}

export function toEndpoint(r: EndpointRow): Endpoint {
  return {
    id: r.id,
    appId: r.app_id,
    uid: r.uid,
    url: r.url,
    description: r.description,
    disabled: r.disabled === 1,
    eventTypes: r.event_types === null ? null : JSON.parse(r.event_types),
    channels: r.channels === null ? null : JSON.parse(r.channels),
    metadata: JSON.parse(r.metadata),
    rateLimit: r.rate_limit,
    headers: JSON.parse(r.headers),
    secrets: JSON.parse(r.secrets),
    disabledReason: r.disabled === 1 ? ((r.disabled_reason as DisabledReason | null) ?? 'manual') : null,
    failingSince: r.failing_since,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface MessageRow {
  id: string;
  app_id: string;
  event_type: string;
  event_id: string | null;
  payload: string;
  payload_bytes: Uint8Array | null;
  content_type: string | null;
  headers: string | null;
  channels: string | null;
  tags: string | null;
  deliver_at: number | null;
  /** Absent where a query names its columns (the publish path's MESSAGE_COLUMNS): read as null. */
  expunged_at?: number | null;
  created_at: number;
}

export function toMessage(r: MessageRow): Message {
  return {
    id: r.id,
    appId: r.app_id,
    eventType: r.event_type,
    eventId: r.event_id,
    payload: bodyFromColumns(r.payload, r.payload_bytes),
    contentType: r.content_type,
    headers: r.headers === null ? null : JSON.parse(r.headers),
    channels: r.channels === null ? null : JSON.parse(r.channels),
    tags: r.tags === null ? null : JSON.parse(r.tags),
    deliverAt: r.deliver_at,
    expungedAt: r.expunged_at ?? null,
    createdAt: r.created_at,
  };
}

/** A new message as published now, before either store writes it. */
export function newMessage(appId: string, input: PublishInput, now: number): Message {
  return {
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
    expungedAt: null,
    createdAt: now,
  };
}

/** INSERT_MESSAGE's parameters (sql.ts), in its column order. */
export function messageInsertValues(m: Message): unknown[] {
  const [payload, payloadBytes] = bodyColumns(m.payload);
  return [
    m.id,
    m.appId,
    m.eventType,
    m.eventId,
    payload,
    payloadBytes,
    m.contentType,
    jsonOrNull(m.headers),
    jsonOrNull(m.channels),
    jsonOrNull(m.tags),
    m.deliverAt,
    m.createdAt,
  ];
}

export interface AttemptRow {
  id: string;
  app_id: string;
  msg_id: string;
  endpoint_id: string;
  url: string;
  status_code: number;
  response: string;
  response_bytes: Uint8Array | null;
  duration_ms: number;
  succeeded: number;
  manual: number;
  created_at: number;
}

export function toAttempt(r: AttemptRow): Attempt {
  return {
    id: r.id,
    appId: r.app_id,
    msgId: r.msg_id,
    endpointId: r.endpoint_id,
    url: r.url,
    responseStatusCode: r.status_code,
    response: bodyFromColumns(r.response, r.response_bytes),
    durationMs: r.duration_ms,
    succeeded: r.succeeded === 1,
    trigger: r.manual === 1 ? 'manual' : 'scheduled',
    createdAt: r.created_at,
  };
}

/** INSERT_ATTEMPT's parameters (sql.ts), in its column order. */
export function attemptInsertValues(a: Attempt): unknown[] {
  const [response, responseBytes] = bodyColumns(a.response);
  return [
    a.id,
    a.appId,
    a.msgId,
    a.endpointId,
    a.url,
    a.responseStatusCode,
    response,
    responseBytes,
    a.durationMs,
    a.succeeded ? 1 : 0,
    a.trigger === 'manual' ? 1 : 0,
    a.createdAt,
  ];
}

export function jsonOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** A delivery's state as the API reports it: a pending row under a live lease is "sending". */
export function deliveryStatusText(status: string, lockedUntil: number, now: number): MessageStatusText {
  if (status === 'succeeded') return 'success';
  if (status === 'pending') return lockedUntil > now ? 'sending' : 'pending';
  return 'fail';
}

export interface SourceRow {
  id: string;
  uid: string | null;
  name: string;
  type: string;
  config: string;
  metadata: string;
  app_id: string;
  token: string;
  created_at: number;
  updated_at: number;
}

export function toSource(r: SourceRow): Source {
  return {
    id: r.id,
    uid: r.uid,
    name: r.name,
    type: r.type,
    config: JSON.parse(r.config),
    metadata: JSON.parse(r.metadata),
    appId: r.app_id,
    token: r.token,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface InboundRow {
  id: string;
  source_id: string;
  status: InboundStatus;
  status_code: number;
  reason: string;
  msg_id: string | null;
  event_type: string | null;
  dedupe_key: string | null;
  headers: string;
  body: string;
  body_bytes: Uint8Array | null;
  created_at: number;
}

export function toInbound(r: InboundRow): InboundRecord {
  return {
    id: r.id,
    sourceId: r.source_id,
    status: r.status,
    statusCode: r.status_code,
    reason: r.reason,
    msgId: r.msg_id,
    eventType: r.event_type,
    dedupeKey: r.dedupe_key,
    headers: JSON.parse(r.headers),
    body: bodyFromColumns(r.body, r.body_bytes),
    createdAt: r.created_at,
  };
}

/**
 * The record of one provider request before either store decides its fate (rejected until
 * then). The provider's labels are made storable here, once for both stores: the dedupe key
 * (from the provider's JSON, where `\u0000` is a NUL) is also what duplicates are looked up by.
 */
export function newInboundRecord(sourceId: string, request: InboundInput, now: number): InboundRecord {
  return {
    id: newId('log', now),
    sourceId,
    status: 'rejected',
    statusCode: request.outcome === 'rejected' ? request.statusCode : 0,
    reason: request.outcome === 'rejected' ? storableText(request.reason) : '',
    msgId: null,
    eventType: storableText(request.eventType),
    dedupeKey: request.outcome === 'accepted' ? storableText(request.dedupeKey) : null,
    headers: request.headers,
    body: request.body,
    createdAt: now,
  };
}

/** INSERT_INBOUND's parameters (sql.ts), in its column order. */
export function inboundInsertValues(r: InboundRecord): unknown[] {
  const [body, bodyBytes] = bodyColumns(r.body);
  return [
    r.id,
    r.sourceId,
    r.status,
    r.statusCode,
    storableText(r.reason),
    r.msgId,
    r.eventType,
    r.dedupeKey,
    JSON.stringify(r.headers),
    body,
    bodyBytes,
    r.createdAt,
  ];
}

/** The failure streak COUNT_FAILURE returns. */
export interface StreakRow {
  app_id: string;
  consecutive_failures: number;
  failing_since: number;
  circuit_open_until: number;
  circuit_period_ms: number;
}

export function toStreak(r: StreakRow): FailureStreak {
  return {
    consecutiveFailures: r.consecutive_failures,
    failingSince: r.failing_since,
    circuitOpenUntil: r.circuit_open_until,
    circuitPeriodMs: r.circuit_period_ms,
  };
}

/**
 * The headers a claimed delivery is sent with: passed-through provider headers (a message's
 * `headers` column), overridden by the endpoint's own headers of the same name.
 */
export function deliveryHeaders(
  messageHeaders: string | null,
  endpointHeaders: string,
): Record<string, string> {
  const merged: Record<string, string> = messageHeaders === null ? {} : JSON.parse(messageHeaders);
  for (const [name, value] of Object.entries(JSON.parse(endpointHeaders) as Record<string, string>)) {
    for (const existing of Object.keys(merged)) {
      if (existing.toLowerCase() === name.toLowerCase()) delete merged[existing];
    }
    merged[name] = value;
  }
  return merged;
}

/** An endpoint row's routing filter (see domain/routing.ts). */
export function toEndpointFilter(e: Pick<EndpointRow, 'event_types' | 'channels'>) {
  return {
    disabled: false,
    eventTypes: e.event_types === null ? null : (JSON.parse(e.event_types) as string[]),
    channels: e.channels === null ? null : (JSON.parse(e.channels) as string[]),
  };
}
