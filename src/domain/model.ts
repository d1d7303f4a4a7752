/**
 * The records Hookgate keeps, in domain words. Times are epoch milliseconds; JSON payloads are
 * kept as the exact text that is signed and sent.
 */
import type { Body } from './body.js';
import type { DisabledReason } from './health.js';

export type Metadata = Record<string, string>;

export interface App {
  id: string;
  uid: string | null;
  name: string;
  metadata: Metadata;
  rateLimit: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface EventType {
  name: string;
  description: string;
  archived: boolean;
  deprecated: boolean;
  featureFlag: string | null;
  schemas: Record<string, unknown> | null;
  createdAt: number;
  updatedAt: number;
}

/** A signing secret; the current one has no expiry, rotated-out ones co-sign until `expiresAt`. */
export interface EndpointSecret {
  key: string;
  expiresAt: number | null;
}

export interface Endpoint {
  id: string;
  appId: string;
  uid: string | null;
  url: string;
  description: string;
  disabled: boolean;
  /** null: every event type. */
  eventTypes: string[] | null;
  /** null: every channel. */
  channels: string[] | null;
  metadata: Metadata;
  /** Messages per second; null: unlimited. */
  rateLimit: number | null;
  headers: Record<string, string>;
  /** Current secret first, then rotated-out secrets still inside their grace period. */
  secrets: EndpointSecret[];
  /** Why it is disabled (null while enabled). */
  disabledReason: DisabledReason | null;
  /** When its current run of failed attempts began; null after a success. */
  failingSince: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface Message {
  id: string;
  appId: string;
  eventType: string;
  eventId: string | null;
  /** The payload exactly as signed and sent: JSON, or a provider's raw body (bytes, if not UTF-8 text). */
  payload: Body;
  /** Content type of `payload`; null means application/json. */
  contentType: string | null;
  /** Provider headers passed through to endpoints (inbound messages only). */
  headers: Record<string, string> | null;
  channels: string[] | null;
  /** Free-form labels messages can be listed by. */
  tags: string[] | null;
  /** When its deliveries were scheduled to begin; null: at once. */
  deliverAt: number | null;
  /** When its payload was expunged (it reads `{}` since, and cannot be sent again); null: never. */
  expungedAt: number | null;
  createdAt: number;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'cancelled';

/** Svix's MessageStatus: the numbers on the wire. */
export const MESSAGE_STATUS = { success: 0, pending: 1, fail: 2, sending: 3 } as const;
export type MessageStatusText = keyof typeof MESSAGE_STATUS;

export type AttemptTrigger = 'scheduled' | 'manual';

export interface Attempt {
  id: string;
  appId: string;
  msgId: string;
  endpointId: string;
  url: string;
  /** 0 when no HTTP response arrived (network error, timeout, refused by the SSRF guard). */
  responseStatusCode: number;
  /** The response body up to a bound (bytes, if not UTF-8 text), or the network error's description. */
  response: Body;
  durationMs: number;
  succeeded: boolean;
  trigger: AttemptTrigger;
  createdAt: number;
}

export interface EndpointStats {
  success: number;
  pending: number;
  sending: number;
  fail: number;
  canceled: number;
}

/** An inbound source: a URL providers post to, verified the provider's way (see src/inbound). */
export interface Source {
  id: string;
  uid: string | null;
  name: string;
  /** Svix Ingest's source type: stripe, github, shopify, slack, svix, generic-webhook, … */
  type: string;
  /** Provider settings, including its signing secret (never returned by the API). */
  config: Record<string, unknown>;
  metadata: Metadata;
  /** The application whose endpoints, messages and attempts carry this source's events. */
  appId: string;
  /** Secret part of the ingest URL; rotating it retires the old URL. */
  token: string;
  createdAt: number;
  updatedAt: number;
}

export type InboundStatus = 'accepted' | 'rejected' | 'duplicate';

/** One request a provider made to a source, whatever became of it. */
export interface InboundRecord {
  id: string;
  sourceId: string;
  status: InboundStatus;
  /** The HTTP status Hookgate answered with. */
  statusCode: number;
  /** Why a request was rejected, or which message a duplicate repeats; empty when accepted. */
  reason: string;
  /** The message it became (accepted) or repeats (duplicate). */
  msgId: string | null;
  eventType: string | null;
  dedupeKey: string | null;
  /** The request's headers, without credentials. */
  headers: Record<string, string>;
  /** The body, up to a bound (bytes, if not UTF-8 text). */
  body: Body;
  createdAt: number;
}
