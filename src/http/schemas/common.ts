import { type TSchema, Type } from 'typebox';

/** Building blocks shared by every resource schema (Svix's wire conventions). */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Svix's identifier alphabet for uids, event type names, channels and event ids. */
export const Identifier = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[a-zA-Z0-9\\-_.]+$' });

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

export const ValidationErrorOut = Type.Object({
  code: Type.Literal('validation'),
  detail: Type.Array(
    Type.Object({ loc: Type.Array(Type.String()), msg: Type.String(), type: Type.String() }),
  ),
});

export const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })),
  iterator: Type.Optional(Nullable(Type.String({ maxLength: 300 }))),
  order: Type.Optional(Type.Union([Type.Literal('ascending'), Type.Literal('descending')])),
});

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
  // Schema failures carry a list of issues; domain checks (URL, secret, headers) one sentence.
  422: Type.Union([ValidationErrorOut, ErrorOut]),
};
