import { Type } from 'typebox';
import { Channel, DateTime, EventTypeName, Metadata, Nullable, RateLimit, Uid } from './common.js';

/** Svix's secret pattern; the exact 24–64 byte rule is checked by the signing module. */
export const Secret = Type.String({ pattern: '^(whsec_)?[a-zA-Z0-9+/=]{32,100}$' });
const EventTypes = Nullable(Type.Array(EventTypeName, { minItems: 1, uniqueItems: true, maxItems: 1000 }));
const Channels = Nullable(Type.Array(Channel, { minItems: 1, maxItems: 10, uniqueItems: true }));
const Url = Type.String({ minLength: 1, maxLength: 65536 });
export const Headers = Type.Record(Type.String(), Type.String());

const endpointFields = {
  url: Url,
  uid: Type.Optional(Nullable(Uid)),
  description: Type.Optional(Type.String({ maxLength: 4096 })),
  disabled: Type.Optional(Type.Boolean()),
  /** Svix's current clients send `filterTypes`; its open-source server calls it `eventTypes`. */
  filterTypes: Type.Optional(EventTypes),
  eventTypes: Type.Optional(EventTypes),
  channels: Type.Optional(Channels),
  metadata: Type.Optional(Metadata),
  rateLimit: Type.Optional(RateLimit),
  throttleRate: Type.Optional(RateLimit),
  version: Type.Optional(Nullable(Type.Integer())),
};

export const EndpointIn = Type.Object({
  ...endpointFields,
  secret: Type.Optional(Nullable(Secret)),
  headers: Type.Optional(Nullable(Headers)),
});

export const EndpointUpdate = Type.Object(endpointFields);

export const EndpointPatch = Type.Partial(Type.Object({ ...endpointFields, secret: Nullable(Secret) }));

export const EndpointOut = Type.Object({
  id: Type.String(),
  uid: Nullable(Type.String()),
  url: Type.String(),
  description: Type.String(),
  disabled: Type.Boolean(),
  filterTypes: EventTypes,
  eventTypes: EventTypes,
  channels: Channels,
  metadata: Metadata,
  rateLimit: Nullable(Type.Integer()),
  throttleRate: Nullable(Type.Integer()),
  version: Type.Integer(),
  /** Hookgate's extension: why the endpoint is disabled (manual, gone, receiver_requested, failing). */
  disabledReason: Nullable(Type.String()),
  createdAt: DateTime,
  updatedAt: DateTime,
});

export const EndpointSecretOut = Type.Object({ key: Type.String() });

export const EndpointSecretRotateIn = Type.Object({
  key: Type.Optional(Nullable(Secret)),
  gracePeriodSeconds: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 604800 }))),
});

export const EndpointHeadersIn = Type.Object({ headers: Headers });
export const EndpointHeadersPatchIn = Type.Object({
  headers: Type.Record(Type.String(), Nullable(Type.String())),
});
export const EndpointHeadersOut = Type.Object({ headers: Headers, sensitive: Type.Array(Type.String()) });

export const RecoverIn = Type.Object({
  since: DateTime,
  until: Type.Optional(Nullable(DateTime)),
});
export const RecoverOut = Type.Object({
  id: Type.String(),
  status: Type.Literal('running'),
  task: Type.Literal('endpoint.recover'),
  updatedAt: DateTime,
});

export const StatsQuery = Type.Object({
  since: Type.Optional(Nullable(DateTime)),
  until: Type.Optional(Nullable(DateTime)),
});
export const EndpointStatsOut = Type.Object({
  success: Type.Integer(),
  pending: Type.Integer(),
  sending: Type.Integer(),
  fail: Type.Integer(),
  canceled: Type.Integer(),
});
