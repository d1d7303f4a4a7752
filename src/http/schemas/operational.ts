import { Type } from 'typebox';
import { PathId } from './common.js';
import { EndpointIn, EndpointOut } from './endpoints.js';

/**
 * Svix's operational webhook endpoint shapes: an endpoint's fields without channels, custom
 * headers on create, or the `eventTypes` alias.
 */
const settable = [
  'url',
  'uid',
  'description',
  'disabled',
  'filterTypes',
  'metadata',
  'rateLimit',
  'throttleRate',
] as const;

export const OperationalEndpointIn = Type.Pick(EndpointIn, [...settable, 'secret']);
export const OperationalEndpointUpdate = Type.Pick(EndpointIn, settable);
export const OperationalEndpointOut = Type.Pick(EndpointOut, [
  'id',
  'uid',
  'url',
  'description',
  'disabled',
  'filterTypes',
  'metadata',
  'rateLimit',
  'throttleRate',
  'createdAt',
  'updatedAt',
]);
export const OperationalEndpointParams = Type.Object({ endpoint_id: PathId });
