import type { Body } from '../domain/body.js';
import type { DisabledReason, HealthPolicy } from '../domain/health.js';
import type {
  App,
  Attempt,
  AttemptTrigger,
  Endpoint,
  EndpointStats,
  EventType,
  InboundRecord,
  InboundStatus,
  Message,
  MessageStatusText,
  Source,
} from '../domain/model.js';
import type { DeliveryNext } from '../domain/retry.js';

/**
 * The storage port, in domain words. SQLite and PostgreSQL implement it and pass one
 * conformance suite; nothing outside src/store/ sees a connection, a statement or a transaction.
 * Every method is app-scoped where the record belongs to an app, so a query never crosses tenants.
 */
export interface Store {
  // ---- applications
  createApp(input: AppInput): Promise<App>;
  /** By id, or by uid when no app has that id. */
  getApp(idOrUid: string): Promise<App | null>;
  listApps(page: PageQuery): Promise<Page<App>>;
  updateApp(id: string, input: AppInput): Promise<App>;
  /** Deletes the app and everything that belongs to it. */
  deleteApp(id: string): Promise<void>;

  // ---- event types (global, as in Svix)
  createEventType(input: EventTypeInput): Promise<EventType>;
  getEventType(name: string): Promise<EventType | null>;
  listEventTypes(page: PageQuery, includeArchived: boolean): Promise<Page<EventType>>;
  updateEventType(name: string, input: Omit<EventTypeInput, 'name'>): Promise<EventType>;
  /** Archives (Svix semantics) or, with `expunge`, removes the row. */
  deleteEventType(name: string, expunge: boolean): Promise<void>;

  // ---- endpoints
  createEndpoint(appId: string, input: EndpointInput & { secret: string }): Promise<Endpoint>;
  getEndpoint(appId: string, idOrUid: string): Promise<Endpoint | null>;
  listEndpoints(appId: string, page: PageQuery): Promise<Page<Endpoint>>;
  /** With `rotate`, also makes `rotate.key` the current secret, in the same commit. */
  updateEndpoint(appId: string, id: string, input: EndpointInput, rotate?: SecretRotation): Promise<Endpoint>;
  setEndpointHeaders(appId: string, id: string, headers: Record<string, string>): Promise<void>;
  /** Makes `newKey` current; the old current secret keeps co-signing until `graceUntil`. */
  rotateEndpointSecret(appId: string, id: string, rotation: SecretRotation): Promise<void>;
  /** Cancels the endpoint's pending deliveries and removes it. */
  deleteEndpoint(appId: string, id: string): Promise<void>;
  endpointStats(appId: string, endpointId: string, range: TimeRange): Promise<EndpointStats>;
  /** Re-queues the endpoint's failed deliveries of messages created in the range; returns how many. */
  recoverEndpoint(appId: string, endpointId: string, range: TimeRange, now: number): Promise<number>;

  // ---- messages
  /**
   * Stores the message and one delivery per subscribed endpoint in one durable commit, shared
   * with concurrent publishes (group commit). With an `eventId` already used in the app, returns
   * the first message and creates nothing. With `idempotency`, the response is stored under its
   * key in the same commit (so a crash leaves the key either answered or free), and nothing is
   * published when the reservation is no longer held: ApiError 'idempotency_conflict'.
   */
  publish(
    appId: string,
    input: PublishInput,
    now: number,
    idempotency?: IdempotentWrite<Published>,
  ): Promise<Published>;
  /** By id, or by eventId. */
  getMessage(appId: string, idOrEventId: string): Promise<Message | null>;
  listMessages(appId: string, filter: MessageFilter, page: PageQuery): Promise<Page<Message>>;
  /**
   * Stores a message bound for this one endpoint only, due at once as a manual attempt, whatever
   * the endpoint's filters (Svix's send-example: a test of one endpoint, not an event for all).
   */
  publishToEndpoint(appId: string, endpointId: string, input: PublishInput, now: number): Promise<Message>;
  /** Queues one more (manual) attempt of the message to the endpoint. */
  resend(appId: string, msgId: string, endpointId: string, now: number): Promise<void>;
  listDeliveriesOfMessage(appId: string, msgId: string, page: PageQuery): Promise<Page<DeliveryRow>>;
  /** The messages bound for an endpoint, with the state of their delivery there. */
  listMessagesOfEndpoint(
    appId: string,
    endpointId: string,
    filter: MessageFilter & { status: MessageStatusText | null },
    page: PageQuery,
  ): Promise<Page<EndpointMessageRow>>;

  /**
   * Queues the message again to every enabled endpoint of the app that its filters select
   * (manual trigger); returns how many deliveries were queued.
   */
  replayMessage(appId: string, msgId: string, now: number): Promise<number>;

  /**
   * Removes the message's content for good (Svix's expunge): its payload reads `{}` from now on,
   * its pending deliveries are cancelled and the request log's copy of an inbound body is emptied.
   * The message still lists. False when the app has no such message.
   */
  expungeMessageContent(appId: string, msgId: string, now: number): Promise<boolean>;

  // ---- inbound sources
  /** Creates the source and the application that carries its events, in one commit. */
  createSource(input: SourceInput & { token: string }): Promise<Source>;
  /** By id, or by uid when no source has that id. */
  getSource(idOrUid: string): Promise<Source | null>;
  listSources(page: PageQuery): Promise<Page<Source>>;
  updateSource(id: string, input: SourceInput): Promise<Source>;
  rotateSourceToken(id: string, token: string): Promise<Source>;
  /** Deletes the source, its request log and its application with everything in it. */
  deleteSource(id: string): Promise<void>;
  /**
   * Records one provider request. An accepted one is published (message and deliveries) in the
   * same commit, unless an accepted request with the same dedupe key arrived at or after
   * `dedupeSince`: then it is recorded as a duplicate of that one and nothing is published.
   */
  recordInbound(source: Source, request: InboundInput, now: number): Promise<InboundRecord>;
  listInbound(sourceId: string, status: InboundStatus | null, page: PageQuery): Promise<Page<InboundRecord>>;
  getInbound(sourceId: string, id: string): Promise<InboundRecord | null>;

  // ---- attempts
  listAttempts(appId: string, filter: AttemptFilter, page: PageQuery): Promise<Page<Attempt>>;
  getAttempt(appId: string, msgId: string, attemptId: string): Promise<Attempt | null>;
  /** Replaces the attempt's response body with `EXPUNGED` for good; false when there is no such attempt. */
  expungeAttemptContent(appId: string, msgId: string, attemptId: string): Promise<boolean>;

  // ---- dispatcher
  /**
   * Leases up to `limit` due deliveries under `leaseId` until `leaseUntil`, never more per endpoint
   * than its free concurrency slots. A lease is never granted over another live one: a crashed holder's work
   * comes back when its lease runs out.
   */
  claimDue(claim: ClaimRequest): Promise<ClaimedDelivery[]>;
  /**
   * Records finished attempts and their consequences: the deliveries' next state (only under the
   * lease each attempt ran with), and each endpoint's health under `health` (circuit breaker,
   * automatic disabling). Returns the endpoints this batch disabled.
   */
  recordOutcomes(outcomes: readonly AttemptOutcome[], health: HealthPolicy): Promise<DisabledEndpoint[]>;
  /**
   * Gives leased deliveries back without an attempt, due again at `until` (rate limits): the
   * attempt count is untouched. Only under the lease they were claimed with.
   */
  deferDeliveries(deferrals: readonly Deferral[]): Promise<void>;
  /** When the earliest pending delivery falls due (or a lease runs out); null when nothing is pending. */
  nextWakeAt(): Promise<number | null>;
  /**
   * Calls `listener` whenever another process commits due work (PostgreSQL: LISTEN/NOTIFY), so
   * idle workers wake without polling; returns a function that stops it. A store with only one
   * process (SQLite) has nothing to hear and never calls it.
   */
  onDue(listener: () => void): () => void;

  // ---- API plumbing
  /**
   * Reserves an Idempotency-Key for `key.owner` until `leaseUntil`, atomically across every node:
   * the row is inserted if absent, or taken over if it is still in progress under a lease that
   * ran out by `now` (its holder crashed or released it). Otherwise answers with the stored
   * response, or that another request holds it.
   */
  reserveIdempotencyKey(key: IdempotencyKey, now: number, leaseUntil: number): Promise<IdempotencyState>;
  /** Extends the lease of a reservation `key.owner` still holds; false when it no longer does. */
  renewIdempotencyKey(key: IdempotencyKey, leaseUntil: number): Promise<boolean>;
  /**
   * Stores the response of the request holding the reservation; false (and nothing stored)
   * when `key.owner` no longer holds it. Writes that can (publish) store it in their own commit.
   */
  finishIdempotencyKey(key: IdempotencyKey, response: StoredResponse): Promise<boolean>;
  /** Gives up a reservation `key.owner` holds (its request failed): the next request takes it. */
  releaseIdempotencyKey(key: IdempotencyKey): Promise<void>;
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
  /**
   * Stores `value` under `key` only if the key has none yet, atomically (nodes starting together
   * race on it), and returns the value stored once it is durable: `value` if this call stored
   * it, else the one already there.
   */
  setSettingIfAbsent(key: string, value: string): Promise<string>;
  /**
   * One secret as stored sealed (an endpoint signing secret or a source's provider secret, still
   * sealed: `enc:v1:…`), or null when none is. For checking the configured key at start.
   */
  findSealedSecret(): Promise<string | null>;
  saveAppToken(tokenHash: string, token: AppToken, expiresAt: number): Promise<void>;
  /** What a (hashed) app-scoped token grants, if it exists and has not expired. */
  findAppToken(tokenHash: string, now: number): Promise<AppToken | null>;
  /** Deletes an app-scoped token (logout); false if there was none with this hash. */
  revokeAppToken(tokenHash: string): Promise<boolean>;

  /**
   * Deletes idempotency records created before `idempotencyBefore` and app tokens expired by
   * `now`, at most `batch` rows of each per call; returns how many rows went.
   */
  pruneExpired(now: number, idempotencyBefore: number, batch: number): Promise<number>;
  /**
   * Retention: deletes up to `batch` attempts, up to `batch` messages (with their deliveries and
   * any younger attempts, so none outlives its message) and up to `batch` inbound request records
   * created before `before`. A message that still has a
   * pending delivery is kept whatever its age: retention never drops undelivered work.
   */
  pruneRetention(before: number, batch: number): Promise<RetentionResult>;

  /**
   * Whether the store can take writes now, as last observed: a flag read, no query (the health
   * route and the error handler read it on every call).
   */
  health(): StoreHealth;

  close(): Promise<void>;
}

/** A storage fault: each is an API error code (domain/errors.ts), answered 503. */
export type StorageFault =
  | 'database_unavailable'
  | 'storage_full'
  | 'storage_lost'
  | 'storage_failed'
  | 'storage_read_only';

/**
 * The store's health. `unavailable` and retryable: the store probes and returns to `ok` by
 * itself (the database is back, space was freed). `unavailable` and not retryable: it stays so
 * until an operator acts (the database file was removed). `fatal`: the process must restart
 * (a WAL flush failed: what is on disk is no longer known).
 */
export type StoreHealth =
  | { state: 'ok' }
  | { state: 'unavailable'; fault: StorageFault; retryable: boolean }
  | { state: 'fatal'; fault: StorageFault };

export interface PageQuery {
  limit: number;
  /** A cursor from a previous page; a leading "-" pages backwards (Svix's prevIterator). */
  iterator: string | null;
  order: 'ascending' | 'descending';
}

export interface Page<T> {
  data: T[];
  iterator: string | null;
  prevIterator: string | null;
  done: boolean;
}

export interface TimeRange {
  since: number | null;
  until: number | null;
}

export interface AppInput {
  name: string;
  uid: string | null;
  metadata: Record<string, string>;
  rateLimit: number | null;
}

export interface EventTypeInput {
  name: string;
  description: string;
  archived: boolean;
  deprecated: boolean;
  featureFlag: string | null;
  schemas: Record<string, unknown> | null;
}

export interface EndpointInput {
  url: string;
  uid: string | null;
  description: string;
  disabled: boolean;
  eventTypes: string[] | null;
  channels: string[] | null;
  metadata: Record<string, string>;
  rateLimit: number | null;
  headers?: Record<string, string>;
}

export interface SecretRotation {
  key: string;
  /** Until when the secret being replaced keeps co-signing (epoch ms). */
  graceUntil: number;
}

export interface PublishInput {
  eventType: string;
  eventId: string | null;
  /** JSON text, or a provider's raw body (see Body). */
  payload: Body;
  channels: string[] | null;
  /** Default null: application/json. */
  contentType?: string | null;
  /** Headers to pass through to endpoints. */
  headers?: Record<string, string> | null;
  tags?: string[] | null;
  /** Deliveries start no earlier than this (epoch ms); default: at once. */
  deliverAt?: number | null;
}

export interface MessageFilter extends TimeRange {
  eventTypes: string[] | null;
  channel: string | null;
  tag?: string | null;
}

export interface AttemptFilter extends TimeRange {
  endpointId?: string;
  msgId?: string;
  /** Svix status filter: 0 success, 1 pending, 2 fail, 3 sending (attempts are only 0 or 2). */
  status: number | null;
  /** 0 none, 200, 300, 400, 500 */
  statusCodeClass: number | null;
  eventTypes: string[] | null;
  channel: string | null;
}

export interface DeliveryRow {
  endpoint: Endpoint;
  status: MessageStatusText;
  nextAttemptAt: number | null;
}

export interface SourceInput {
  name: string;
  uid: string | null;
  type: string;
  config: Record<string, unknown>;
  metadata: Record<string, string>;
}

/** What the inbound gateway decided about one provider request, and what it keeps of it. */
export type InboundInput = {
  headers: Record<string, string>;
  /** The body as received, up to the request log's bound. */
  body: Body;
  eventType: string | null;
} & (
  | { outcome: 'rejected'; statusCode: number; reason: string }
  | { outcome: 'accepted'; publish: PublishInput; dedupeKey: string | null; dedupeSince: number }
);

export interface EndpointMessageRow {
  message: Message;
  status: MessageStatusText;
  nextAttemptAt: number | null;
}

export interface ClaimRequest {
  /** Unique per claim: a result settles only the lease it was attempted under. */
  leaseId: string;
  now: number;
  leaseUntil: number;
  limit: number;
  /** Attempts this worker has in flight per endpoint; endpoints at `perEndpointLimit` get no more. */
  inFlightByEndpoint: ReadonlyMap<string, number>;
  perEndpointLimit: number;
}

/** Everything the dispatcher needs to make one attempt, read in the claim. */
export interface ClaimedDelivery {
  deliveryId: string;
  appId: string;
  msgId: string;
  endpointId: string;
  /** Attempts already made before this one (in the current schedule cycle). */
  attemptsMade: number;
  trigger: AttemptTrigger;
  url: string;
  payload: Body;
  /** Content type of the payload: application/json unless a provider sent something else. */
  contentType: string;
  /** Provider headers passed through (inbound), then the endpoint's custom headers on top. */
  headers: Record<string, string>;
  secrets: string[];
  /** The endpoint's rate limit in messages per second; null: none. */
  rateLimit: number | null;
}

export interface DisabledEndpoint {
  appId: string;
  endpointId: string;
  reason: DisabledReason;
}

export interface Deferral {
  leaseId: string;
  deliveryId: string;
  until: number;
}

export interface AttemptOutcome {
  /** The lease the attempt ran under; a result whose lease ran out and was re-granted settles nothing. */
  leaseId: string;
  deliveryId: string;
  attempt: Attempt;
  next: DeliveryNext;
}

export interface RetentionResult {
  attempts: number;
  messages: number;
  inboundRequests: number;
}

export interface AppToken {
  appId: string;
  /** Read-only tokens may only GET. */
  readOnly: boolean;
}

export interface StoredResponse {
  statusCode: number;
  body: string;
}

/** What a publish answers: the message, and whether this call created it. */
export interface Published {
  message: Message;
  created: boolean;
}

/** One request's reservation of an Idempotency-Key. */
export interface IdempotencyKey {
  /** Who may replay it: the caller (admin or app) and the route's path. */
  scope: string;
  key: string;
  /** Unique per request: only the holder may store or release the reservation. */
  owner: string;
}

export type IdempotencyState =
  | { state: 'reserved' }
  | { state: 'finished'; response: StoredResponse }
  | { state: 'in_progress' };

/** A write that stores its request's response under an Idempotency-Key in its own commit. */
export interface IdempotentWrite<R> {
  key: IdempotencyKey;
  /**
   * The response the request answers with this result; pure (it may run again when a batch is
   * retried). The write resolves with the very result object it last passed here.
   */
  respond: (result: R) => StoredResponse;
}
