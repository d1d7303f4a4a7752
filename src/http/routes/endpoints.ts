import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { announceEndpointChange } from '../../delivery/operational-events.js';
import { checkEndpointUrl } from '../../domain/endpoint-url.js';
import { ApiError } from '../../domain/errors.js';
import { checkCustomHeaders } from '../../domain/headers.js';
import type { Endpoint } from '../../domain/model.js';
import { canonicalSecret, generateSecret } from '../../domain/signing.js';
import type { Cidr } from '../../domain/ssrf.js';
import type { EndpointInput, SecretRotation, Store } from '../../store/store.js';
import { loadApp } from '../auth.js';
import { AppIdParams, EndpointParams, errorResponses, ListOf, listQueryOf } from '../schemas/common.js';
import { EndpointIn, EndpointOut, EndpointPatch, EndpointUpdate } from '../schemas/endpoints.js';
import type { Api, ApiDeps } from '../types.js';
import { endpointOut } from '../wire.js';
import { pageQuery } from './paging.js';

interface EndpointFields {
  url?: string;
  uid?: string | null;
  description?: string;
  disabled?: boolean;
  filterTypes?: string[] | null;
  eventTypes?: string[] | null;
  channels?: string[] | null;
  metadata?: Record<string, string>;
  rateLimit?: number | null;
  throttleRate?: number | null;
  headers?: Record<string, string> | null;
}

/**
 * Request fields merged over the current endpoint (PATCH) or over defaults (POST, PUT). Only the
 * fields `schema` declares (and so validated) are read: request bodies may carry others.
 */
export function endpointInput(
  schema: { properties: object },
  given: EndpointFields,
  allowNetworks: readonly Cidr[],
  base?: Endpoint,
): EndpointInput {
  const body = declaredFields(schema, given);
  const pick = <K extends keyof EndpointFields>(key: K) => body[key] !== undefined;
  const url = body.url ?? base?.url ?? '';
  // Only a URL being set is checked: narrowing the allow list must not freeze other edits.
  const urlProblem = body.url === undefined ? null : checkEndpointUrl(body.url, allowNetworks);
  if (urlProblem) throw new ApiError(urlProblem);
  const headers = body.headers ?? undefined;
  if (headers) checkHeaders(headers);
  const eventTypes = pick('filterTypes')
    ? body.filterTypes
    : pick('eventTypes')
      ? body.eventTypes
      : base?.eventTypes;
  const rateLimit = pick('throttleRate')
    ? body.throttleRate
    : pick('rateLimit')
      ? body.rateLimit
      : base?.rateLimit;
  return {
    url,
    uid: pick('uid') ? (body.uid ?? null) : (base?.uid ?? null),
    description: body.description ?? base?.description ?? '',
    disabled: body.disabled ?? base?.disabled ?? false,
    eventTypes: eventTypes ?? null,
    channels: pick('channels') ? (body.channels ?? null) : (base?.channels ?? null),
    metadata: body.metadata ?? base?.metadata ?? {},
    rateLimit: rateLimit ?? null,
    ...(headers ? { headers } : {}),
  };
}

/**
 * Only the body fields the route's schema declares, and so validated. Bodies may carry other
 * fields (Svix clients send newer ones), and endpointInput reads every endpoint field it knows:
 * an undeclared one would reach the store unchecked.
 */
function declaredFields<T extends object>(schema: { properties: object }, body: T): T {
  return Object.fromEntries(
    Object.entries(body).filter(([key]) => Object.hasOwn(schema.properties, key)),
  ) as T;
}

export function checkHeaders(headers: Record<string, string | null>): void {
  const problem = checkCustomHeaders(headers);
  if (problem)
    throw new ApiError(problem.kind, `Header "${problem.name}": ${new ApiError(problem.kind).message}`, [
      'body',
      'headers',
      problem.name,
    ]);
}

/** Default grace period of a rotated-out secret (Svix: 24 hours). */
const DEFAULT_GRACE_SECONDS = 24 * 60 * 60;

/** `field`: the body field the secret came in, named in a 422's `loc`. */
export function secretOrGenerated(secret: string | null | undefined, field = 'secret'): string {
  if (secret === null || secret === undefined) return generateSecret();
  const canonical = canonicalSecret(secret);
  if (!canonical) throw new ApiError('invalid_secret', undefined, ['body', field]);
  return canonical;
}

/** A rotation to `key` (generated when absent); the old secret co-signs for the grace period. */
export function secretRotation(
  key: string | null | undefined,
  graceSeconds?: number | null,
  field = 'key',
): SecretRotation {
  return {
    key: secretOrGenerated(key, field),
    graceUntil: Date.now() + (graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000,
  };
}

/** Loads an endpoint of an app the caller may see; 404 whether it is missing or another app's. */
export async function loadEndpoint(store: Store, appId: string, idOrUid: string): Promise<Endpoint> {
  const endpoint = await store.getEndpoint(appId, idOrUid);
  if (!endpoint) throw new ApiError('endpoint_not_found');
  return endpoint;
}

/**
 * Raises `endpoint.enabled` / `endpoint.disabled` for operational webhooks when an edit flipped the
 * endpoint. The edit is committed already: a failure to publish is logged, never answered. Wakes
 * the dispatcher: an edit that fixes the endpoint closed its circuit, and its work is due now.
 */
export async function announceEdit(
  { store, wakeDispatcher }: Pick<ApiDeps, 'store' | 'wakeDispatcher'>,
  request: FastifyRequest,
  before: Endpoint,
  after: Endpoint,
): Promise<Endpoint> {
  wakeDispatcher();
  await announceEndpointChange(store, wakeDispatcher, before, after).catch((err: unknown) =>
    request.log.warn({ err }, 'operational event not published'),
  );
  return after;
}

export function endpointRoutes(api: Api, deps: ApiDeps): void {
  const { store, allowNetworks } = deps;
  const tags = ['Endpoint'];

  api.get(
    '/api/v1/app/:app_id/endpoint',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: AppIdParams,
        querystring: listQueryOf('ep'),
        response: { 200: ListOf(EndpointOut), ...errorResponses },
      },
    },
    async (request) => {
      const app = await loadApp(store, request, request.params.app_id);
      const page = await store.listEndpoints(app.id, pageQuery(request.query));
      return { ...page, data: page.data.map(endpointOut) };
    },
  );

  api.post(
    '/api/v1/app/:app_id/endpoint',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: AppIdParams,
        body: EndpointIn,
        response: { 201: EndpointOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const app = await loadApp(store, request, request.params.app_id);
      const input = endpointInput(EndpointIn, request.body, allowNetworks);
      const secret = secretOrGenerated(request.body.secret);
      reply.code(201);
      return endpointOut(await store.createEndpoint(app.id, { ...input, secret }));
    },
  );

  api.get(
    '/api/v1/app/:app_id/endpoint/:endpoint_id',
    {
      config: { caller: 'app' },
      schema: { tags, params: EndpointParams, response: { 200: EndpointOut, ...errorResponses } },
    },
    async (request) => {
      const app = await loadApp(store, request, request.params.app_id);
      return endpointOut(await loadEndpoint(store, app.id, request.params.endpoint_id));
    },
  );

  api.put(
    '/api/v1/app/:app_id/endpoint/:endpoint_id',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: EndpointParams,
        body: EndpointUpdate,
        response: { 200: EndpointOut, 201: EndpointOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const app = await loadApp(store, request, request.params.app_id);
      const current = await store.getEndpoint(app.id, request.params.endpoint_id);
      if (!current) {
        // Svix upserts: PUT on an unknown endpoint creates it with that uid.
        const input = endpointInput(
          EndpointUpdate,
          { uid: request.params.endpoint_id, ...request.body },
          allowNetworks,
        );
        reply.code(201);
        return endpointOut(await store.createEndpoint(app.id, { ...input, secret: secretOrGenerated(null) }));
      }
      // PUT replaces the settable fields; headers and secrets have their own routes and stay.
      const input = endpointInput(EndpointUpdate, request.body, allowNetworks);
      const updated = await store.updateEndpoint(app.id, current.id, input);
      return endpointOut(await announceEdit(deps, request, current, updated));
    },
  );

  api.patch(
    '/api/v1/app/:app_id/endpoint/:endpoint_id',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: EndpointParams,
        body: EndpointPatch,
        response: { 200: EndpointOut, ...errorResponses },
      },
    },
    async (request) => {
      const app = await loadApp(store, request, request.params.app_id);
      const current = await loadEndpoint(store, app.id, request.params.endpoint_id);
      const input = endpointInput(EndpointPatch, request.body, allowNetworks, current);
      // A secret in a PATCH replaces the current one at once (no grace), in the same commit.
      const rotation =
        request.body.secret === undefined ? undefined : secretRotation(request.body.secret, 0, 'secret');
      const updated = await store.updateEndpoint(app.id, current.id, input, rotation);
      return endpointOut(await announceEdit(deps, request, current, updated));
    },
  );

  api.delete(
    '/api/v1/app/:app_id/endpoint/:endpoint_id',
    {
      config: { caller: 'app' },
      schema: { tags, params: EndpointParams, response: { 204: Type.Null(), ...errorResponses } },
    },
    async (request, reply) => {
      const app = await loadApp(store, request, request.params.app_id);
      const endpoint = await loadEndpoint(store, app.id, request.params.endpoint_id);
      await store.deleteEndpoint(app.id, endpoint.id);
      reply.code(204);
      return null;
    },
  );
}
