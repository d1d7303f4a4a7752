import { Type } from 'typebox';
import { DateTime, Metadata, Nullable, RateLimit, Uid } from './common.js';

export const ApplicationIn = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256 }),
  uid: Type.Optional(Nullable(Uid)),
  metadata: Type.Optional(Metadata),
  rateLimit: Type.Optional(RateLimit),
  throttleRate: Type.Optional(RateLimit),
});

export const ApplicationPatch = Type.Partial(ApplicationIn);

export const ApplicationOut = Type.Object({
  id: Type.String(),
  uid: Nullable(Type.String()),
  name: Type.String(),
  metadata: Metadata,
  rateLimit: Nullable(Type.Integer()),
  throttleRate: Nullable(Type.Integer()),
  createdAt: DateTime,
  updatedAt: DateTime,
});
