import { Type } from 'typebox';
import { DateTime, EventTypeName, Identifier, Nullable } from './common.js';

const Schemas = Nullable(Type.Record(Type.String(), Type.Object({})));
// Responses carry schemas verbatim: an empty object schema would make the serializer drop every key.
const SchemasOut = Nullable(Type.Record(Type.String(), Type.Unknown()));

export const EventTypeUpdate = Type.Object({
  description: Type.String({ maxLength: 4096 }),
  archived: Type.Optional(Type.Boolean()),
  deprecated: Type.Optional(Type.Boolean()),
  featureFlag: Type.Optional(Nullable(Identifier(256))),
  schemas: Type.Optional(Schemas),
});

export const EventTypeIn = Type.Intersect([Type.Object({ name: EventTypeName }), EventTypeUpdate]);

export const EventTypePatch = Type.Partial(EventTypeUpdate);

export const EventTypeOut = Type.Object({
  name: Type.String(),
  description: Type.String(),
  archived: Type.Boolean(),
  deprecated: Type.Boolean(),
  featureFlag: Nullable(Type.String()),
  /** Left out when listed or read with `with_content=false`. */
  schemas: Type.Optional(SchemasOut),
  createdAt: DateTime,
  updatedAt: DateTime,
});

export const EventTypeParams = Type.Object({ event_type_name: EventTypeName });
