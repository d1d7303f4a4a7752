import { type TSchema, Type } from 'typebox';
import { type IdPrefix, idPattern } from '../../domain/ids.js';

/** Building blocks shared by every resource schema (Svix's wire conventions). */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Svix's identifier alphabet for uids, event type names, channels and event ids. */
export const Identifier = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[a-zA-Z0-9\\-_.]+$' });

/** An event type name as a pattern (no anchors): the key the event type list is ordered by. */
export const EVENT_TYPE_NAME_PATTERN = '[a-zA-Z0-9\\-_.]{1,256}';

export const Uid = Identifier(256);
/** An id or uid in a path: the same alphabet, since a missing app's path id can become its uid. */
export const PathId = Identifier(256);
export const EventTypeName = Identifier(256);
export const Channel = Identifier(128);
export const Metadata = Type.Record(Type.String(), Type.String());
export const DateTime = Type.String({ format: 'date-time' });
/** Messages per second; Svix's newer clients call it `throttleRate`, older ones `rateLimit`. */
export const RateLimit = Nullable(Type.Integer({ minimum: 0, maximum: 65535 }));

export const ErrorOut = Type.Object({ code: Type.String(), detail: Type.String() }, { $id: 'HttpErrorOut' });

/** Svix's HTTPValidationError, with Hookgate's `code` beside it (`validation`, `invalid_url`, …). */
export const ValidationErrorOut = Type.Object({
  code: Type.String(),
  detail: Type.Array(
    Type.Object({ loc: Type.Array(Type.String()), msg: Type.String(), type: Type.String() }),
  ),
});

/**
 * Svix's list parameters for a list keyed by `key` (a regular expression source: what the list's
 * items are ordered by). The iterator is such a key, or `-` and a key for the page before
 * (prevIterator); anything else is refused with 422 like any malformed parameter, on every list.
 * `minLimit`: the spec's minimum for `limit`, 0 on the server's lists (an empty page) and 1 on
 * Svix Ingest's.
 */
export const listQuery = (key: string, minLimit: 0 | 1 = 0) =>
  Type.Object({
    limit: Type.Optional(Type.Integer({ minimum: minLimit, maximum: 250, default: 50 })),
    iterator: Type.Optional(Nullable(Type.String({ maxLength: 300, pattern: `^(?:-?(?:${key}))?$` }))),
    order: Type.Optional(Type.Union([Type.Literal('ascending'), Type.Literal('descending')])),
  });

/** A server list keyed by ids of `prefix`. */
export const listQueryOf = (prefix: IdPrefix) => listQuery(idPattern(prefix));
/** A Svix Ingest list keyed by ids of `prefix` (the ingest spec's `limit` starts at 1). */
export const ingestListQueryOf = (prefix: IdPrefix) => listQuery(idPattern(prefix), 1);

export const ListOf = <T extends TSchema>(item: T) =>
  Type.Object({
    data: Type.Array(item),
    iterator: Nullable(Type.String()),
    prevIterator: Nullable(Type.String()),
    done: Type.Boolean(),
  });

export const AppIdParams = Type.Object({ app_id: PathId });
export const EndpointParams = Type.Object({
  app_id: PathId,
  endpoint_id: PathId,
});
export const MessageParams = Type.Object({
  app_id: PathId,
  msg_id: PathId,
});

/** Standard error responses, so every route's OpenAPI entry documents them. */
export const errorResponses = {
  401: ErrorOut,
  403: ErrorOut,
  404: ErrorOut,
  409: ErrorOut,
  413: ErrorOut,
  // Every 422 carries a list of issues, schema failures and domain checks (URL, secret, headers) alike.
  422: ValidationErrorOut,
};
