import { Type } from 'typebox';
import { DateTime, Metadata, Nullable, PathId, RateLimit, Uid } from './common.js';
import { Headers, Secret } from './endpoints.js';

/** Svix Ingest's source uid: like other uids, but never shaped like a source id. */
const SourceUid = Type.String({ minLength: 1, maxLength: 60, pattern: '^(?!src_)[a-zA-Z0-9_-]+$' });

/**
 * Provider settings. Svix's fields (`secret`) plus Hookgate's extensions; unknown keys are kept
 * so every Svix source type round-trips, and refused only when the type is not verifiable.
 */
export const SourceConfig = Type.Object({
  secret: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 1024 }))),
  signatureHeader: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9-]+$' })),
  signaturePrefix: Type.Optional(Type.String({ maxLength: 64 })),
  signatureEncoding: Type.Optional(Type.Union([Type.Literal('hex'), Type.Literal('base64')])),
  passthroughHeaders: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 50 }),
  ),
  dedupeWindowSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 90 * 24 * 3600 })),
});

export const IngestSourceIn = Type.Object({
  name: Type.String({ minLength: 2, maxLength: 256 }),
  uid: Type.Optional(Nullable(SourceUid)),
  metadata: Type.Optional(Metadata),
  type: Type.String({ minLength: 1, maxLength: 64 }),
  config: Type.Optional(SourceConfig),
});

export const IngestSourcePatch = Type.Partial(Type.Omit(IngestSourceIn, ['type']));

export const IngestSourceOut = Type.Object({
  id: Type.String(),
  uid: Nullable(Type.String()),
  name: Type.String(),
  type: Type.String(),
  /** The configuration without its secret. */
  config: Type.Record(Type.String(), Type.Unknown()),
  ingestUrl: Type.String(),
  metadata: Metadata,
  createdAt: DateTime,
  updatedAt: DateTime,
});

export const RotateTokenOut = Type.Object({ ingestUrl: Type.String() });

export const SourceParams = Type.Object({ source_id: PathId });
export const SourceEndpointParams = Type.Object({
  source_id: PathId,
  endpoint_id: PathId,
});
export const InboundParams = Type.Object({
  source_id: PathId,
  log_id: PathId,
});

const endpointFields = {
  url: Type.String({ minLength: 1, maxLength: 65536 }),
  uid: Type.Optional(Nullable(Uid)),
  description: Type.Optional(Type.String({ maxLength: 4096 })),
  disabled: Type.Optional(Type.Boolean()),
  metadata: Type.Optional(Metadata),
  rateLimit: Type.Optional(RateLimit),
  throttleRate: Type.Optional(RateLimit),
};

export const IngestEndpointIn = Type.Object({
  ...endpointFields,
  secret: Type.Optional(Nullable(Secret)),
  headers: Type.Optional(Nullable(Headers)),
});
export const IngestEndpointUpdate = Type.Object(endpointFields);

export const IngestEndpointOut = Type.Object({
  id: Type.String(),
  uid: Nullable(Type.String()),
  url: Type.String(),
  description: Type.String(),
  disabled: Type.Boolean(),
  metadata: Metadata,
  rateLimit: Nullable(Type.Integer()),
  throttleRate: Nullable(Type.Integer()),
  createdAt: DateTime,
  updatedAt: DateTime,
});

const InboundStatus = Type.Union([
  Type.Literal('accepted'),
  Type.Literal('rejected'),
  Type.Literal('duplicate'),
]);

export const InboundListQuery = Type.Object({ status: Type.Optional(InboundStatus) });

/**
 * Svix's IngestLogOut (snake_case) for every request a source received, extended with what
 * became of it: its status, the message it became and that message's delivery to each endpoint.
 */
export const IngestLogOut = Type.Object({
  id: Type.String(),
  source_id: Type.String(),
  status: InboundStatus,
  status_code: Type.Integer(),
  error_text: Type.String(),
  headers: Headers,
  payload: Type.String(),
  event_type: Nullable(Type.String()),
  msg_id: Nullable(Type.String()),
  deliveries: Type.Array(
    Type.Object({
      endpointId: Type.String(),
      status: Type.Union([
        Type.Literal('success'),
        Type.Literal('pending'),
        Type.Literal('fail'),
        Type.Literal('sending'),
      ]),
      nextAttempt: Nullable(DateTime),
    }),
  ),
  created_at: DateTime,
  updated_at: DateTime,
});

export const ReplayOut = Type.Object({ msgId: Type.String(), queued: Type.Integer() });

/** Svix Ingest's IngestSourceConsumerPortalAccessIn: token lifetime 1 hour to 7 days (default 7 days). */
export const IngestDashboardIn = Type.Object({
  expiry: Type.Optional(Nullable(Type.Integer({ minimum: 3600, maximum: 604800 }))),
  readOnly: Type.Optional(Nullable(Type.Boolean())),
});

/** Svix Ingest's IngestEndpointTransformationPatch (refused with 501 until transformations run). */
export const IngestTransformationPatch = Type.Object({
  code: Type.Optional(Nullable(Type.String({ minLength: 10, maxLength: 51200 }))),
  enabled: Type.Optional(Type.Boolean()),
  variables: Type.Optional(Nullable(Type.Record(Type.String(), Type.String()))),
});
export const IngestTransformationOut = Type.Object({
  code: Type.Optional(Nullable(Type.String())),
  enabled: Type.Optional(Type.Boolean()),
  variables: Type.Optional(Nullable(Type.Record(Type.String(), Type.String()))),
});
