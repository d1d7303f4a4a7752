import { Type } from 'typebox';
import { ApplicationIn } from './applications.js';
import { Channel, DateTime, EventTypeName, Identifier, Nullable, PathId } from './common.js';

const Channels = Nullable(Type.Array(Channel, { minItems: 1, maxItems: 5, uniqueItems: true }));

export const MessageIn = Type.Object({
  eventType: EventTypeName,
  eventId: Type.Optional(Nullable(Identifier(256))),
  payload: Type.Object({}),
  channels: Type.Optional(Channels),
  application: Type.Optional(Nullable(ApplicationIn)),
  payloadRetentionPeriod: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
  tags: Type.Optional(Nullable(Type.Array(Identifier(128), { maxItems: 5, uniqueItems: true }))),
  /** Schedule: deliveries start at this time (Svix's deliverAt). */
  deliverAt: Type.Optional(Nullable(DateTime)),
});

export const MessageOut = Type.Object({
  id: Type.String(),
  eventType: Type.String(),
  eventId: Nullable(Type.String()),
  channels: Channels,
  tags: Nullable(Type.Array(Type.String())),
  deliverAt: Nullable(DateTime),
  payload: Type.Unknown(),
  timestamp: DateTime,
});

/** Svix's EventExampleIn: which event type's example to send. */
export const EventExampleIn = Type.Object({ eventType: EventTypeName });

export const WithContentQuery = Type.Object({ with_content: Type.Optional(Type.Boolean({ default: true })) });

export const MessageListQuery = Type.Object({
  channel: Type.Optional(Channel),
  tag: Type.Optional(Identifier(128)),
  before: Type.Optional(Nullable(DateTime)),
  after: Type.Optional(Nullable(DateTime)),
  event_types: Type.Optional(Type.Array(EventTypeName)),
  with_content: Type.Optional(Type.Boolean({ default: true })),
});

const MessageStatus = Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2), Type.Literal(3)]);
const MessageStatusText = Type.Union([
  Type.Literal('success'),
  Type.Literal('pending'),
  Type.Literal('fail'),
  Type.Literal('sending'),
]);

export const MessageAttemptOut = Type.Object({
  id: Type.String(),
  msgId: Type.String(),
  endpointId: Type.String(),
  url: Type.String(),
  /** Left out with `with_content=false`; `EXPUNGED` once expunged. */
  response: Type.Optional(Type.String()),
  responseStatusCode: Type.Integer(),
  responseDurationMs: Type.Integer(),
  status: MessageStatus,
  statusText: MessageStatusText,
  triggerType: Type.Union([Type.Literal(0), Type.Literal(1)]),
  timestamp: DateTime,
});

export const AttemptListQuery = Type.Object({
  status: Type.Optional(MessageStatus),
  status_code_class: Type.Optional(Type.Union([0, 100, 200, 300, 400, 500].map((n) => Type.Literal(n)))),
  channel: Type.Optional(Channel),
  endpoint_id: Type.Optional(Type.String({ maxLength: 256 })),
  before: Type.Optional(Nullable(DateTime)),
  after: Type.Optional(Nullable(DateTime)),
  event_types: Type.Optional(Type.Array(EventTypeName)),
  with_content: Type.Optional(Type.Boolean()),
});

export const MessageEndpointOut = Type.Object({
  id: Type.String(),
  uid: Nullable(Type.String()),
  url: Type.String(),
  description: Type.String(),
  disabled: Type.Boolean(),
  channels: Nullable(Type.Array(Type.String())),
  filterTypes: Nullable(Type.Array(Type.String())),
  eventTypes: Nullable(Type.Array(Type.String())),
  rateLimit: Nullable(Type.Integer()),
  throttleRate: Nullable(Type.Integer()),
  version: Type.Integer(),
  status: MessageStatus,
  statusText: MessageStatusText,
  nextAttempt: Nullable(DateTime),
  createdAt: DateTime,
  updatedAt: DateTime,
});

export const EndpointMessageOut = Type.Object({
  id: Type.String(),
  eventType: Type.String(),
  eventId: Nullable(Type.String()),
  channels: Channels,
  payload: Type.Unknown(),
  timestamp: DateTime,
  status: MessageStatus,
  statusText: MessageStatusText,
  nextAttempt: Nullable(DateTime),
});

export const EndpointMessageListQuery = Type.Object({
  status: Type.Optional(MessageStatus),
  channel: Type.Optional(Channel),
  before: Type.Optional(Nullable(DateTime)),
  after: Type.Optional(Nullable(DateTime)),
  event_types: Type.Optional(Type.Array(EventTypeName)),
  with_content: Type.Optional(Type.Boolean({ default: true })),
});

export const AttemptParams = Type.Object({
  app_id: PathId,
  msg_id: PathId,
  attempt_id: PathId,
});

export const ResendParams = Type.Object({
  app_id: PathId,
  msg_id: PathId,
  endpoint_id: PathId,
});

export const AppPortalAccessIn = Type.Object({
  application: Type.Optional(Nullable(ApplicationIn)),
  expiry: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 30 * 24 * 3600 }))),
  featureFlags: Type.Optional(Type.Array(Type.String())),
  readOnly: Type.Optional(Nullable(Type.Boolean())),
  sessionId: Type.Optional(Nullable(Type.String())),
});
export const AppPortalAccessOut = Type.Object({ token: Type.String(), url: Type.String() });
