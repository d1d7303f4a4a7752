import { Type } from 'typebox';
import { ApiError } from '../../domain/errors.js';
import type { App, Endpoint } from '../../domain/model.js';
import { OPERATIONAL_APP_NAME, OPERATIONAL_APP_UID } from '../../domain/operational.js';
import type { Store } from '../../store/store.js';
import { errorResponses, ListOf, listQueryOf } from '../schemas/common.js';
import {
  EndpointHeadersIn,
  EndpointHeadersOut,
  EndpointSecretOut,
  EndpointSecretRotateIn,
} from '../schemas/endpoints.js';
import {
  OperationalEndpointIn,
  OperationalEndpointOut,
  OperationalEndpointParams,
  OperationalEndpointUpdate,
} from '../schemas/operational.js';
import type { Api, ApiDeps } from '../types.js';
import { endpointOut } from '../wire.js';
import { createOrGetApp } from './applications.js';
import { endpointSettings } from './endpoint-settings.js';
import { endpointInput, loadEndpoint, secretOrGenerated } from './endpoints.js';
import { pageQuery } from './paging.js';

/**
 * The reserved app whose endpoints are the operational webhook endpoints. It is created on first
 * use, so a Hookgate nobody subscribed to operational events publishes none.
 */
export async function operationalApp(store: Store, create: boolean): Promise<App | null> {
  if (!create) return store.getApp(OPERATIONAL_APP_UID);
  const input = { name: OPERATIONAL_APP_NAME, uid: OPERATIONAL_APP_UID, metadata: {}, rateLimit: null };
  try {
    return (await createOrGetApp(store, input, true)).app;
  } catch (e) {
    // Two first uses at once: the other one created it.
    if (e instanceof ApiError && e.code === 'conflict') return store.getApp(OPERATIONAL_APP_UID);
    throw e;
  }
}

/** The endpoint's wire shape; the response schema keeps only Svix's operational fields of it. */
const operationalEndpointOut = (e: Endpoint) => endpointOut(e);

/**
 * Svix's operational webhook endpoints (`/api/v1/operational-webhook/endpoint…`), admin only
 * (enforced for the whole prefix in app.ts). They are endpoints of the reserved operational app,
 * so signing, retries, secrets and headers are the ordinary endpoint machinery.
 */
export function operationalWebhookRoutes(api: Api, deps: ApiDeps): void {
  const { store, allowNetworks } = deps;
  const tags = ['Webhook Endpoint'];
  const base = '/api/v1/operational-webhook/endpoint';
  const load = async (endpointIdOrUid: string) => {
    const app = await operationalApp(store, false);
    if (!app) throw new ApiError('endpoint_not_found');
    return loadEndpoint(store, app.id, endpointIdOrUid);
  };
  const params = OperationalEndpointParams;

  api.get(
    base,
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        querystring: listQueryOf('ep'),
        response: { 200: ListOf(OperationalEndpointOut), ...errorResponses },
      },
    },
    async (request) => {
      const app = await operationalApp(store, false);
      if (!app) return { data: [], iterator: null, prevIterator: null, done: true };
      const page = await store.listEndpoints(app.id, pageQuery(request.query));
      return { ...page, data: page.data.map(operationalEndpointOut) };
    },
  );

  api.post(
    base,
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        body: OperationalEndpointIn,
        response: { 201: OperationalEndpointOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      // Checked before the app is created, so a refused request leaves nothing behind.
      const input = endpointInput(OperationalEndpointIn, request.body, allowNetworks);
      const secret = secretOrGenerated(request.body.secret);
      const app = (await operationalApp(store, true))!;
      reply.code(201);
      return operationalEndpointOut(await store.createEndpoint(app.id, { ...input, secret }));
    },
  );

  api.get(
    `${base}/:endpoint_id`,
    {
      config: { caller: 'admin' },
      schema: { tags, params, response: { 200: OperationalEndpointOut, ...errorResponses } },
    },
    async (request) => operationalEndpointOut(await load(request.params.endpoint_id)),
  );

  api.put(
    `${base}/:endpoint_id`,
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params,
        body: OperationalEndpointUpdate,
        response: { 200: OperationalEndpointOut, ...errorResponses },
      },
    },
    async (request) => {
      const current = await load(request.params.endpoint_id);
      // PUT replaces the settable fields; headers and secrets have their own routes and stay.
      const input = endpointInput(OperationalEndpointUpdate, request.body, allowNetworks);
      const updated = await store.updateEndpoint(current.appId, current.id, input);
      // A new URL closed its circuit: its waiting events go now.
      deps.wakeDispatcher();
      return operationalEndpointOut(updated);
    },
  );

  api.delete(
    `${base}/:endpoint_id`,
    {
      config: { caller: 'admin' },
      schema: { tags, params, response: { 204: Type.Null(), ...errorResponses } },
    },
    async (request, reply) => {
      const endpoint = await load(request.params.endpoint_id);
      await store.deleteEndpoint(endpoint.appId, endpoint.id);
      reply.code(204);
      return null;
    },
  );

  api.get(
    `${base}/:endpoint_id/secret`,
    {
      config: { caller: 'admin' },
      schema: { tags, params, response: { 200: EndpointSecretOut, ...errorResponses } },
    },
    async (request) => endpointSettings.secret(await load(request.params.endpoint_id)),
  );

  api.post(
    `${base}/:endpoint_id/secret/rotate`,
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params,
        body: Type.Optional(EndpointSecretRotateIn),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await endpointSettings.rotateSecret(deps, await load(request.params.endpoint_id), request.body);
      reply.code(204);
      return null;
    },
  );

  api.get(
    `${base}/:endpoint_id/headers`,
    {
      config: { caller: 'admin' },
      schema: { tags, params, response: { 200: EndpointHeadersOut, ...errorResponses } },
    },
    async (request) => endpointSettings.headers(await load(request.params.endpoint_id)),
  );

  api.put(
    `${base}/:endpoint_id/headers`,
    {
      config: { caller: 'admin' },
      schema: { tags, params, body: EndpointHeadersIn, response: { 204: Type.Null(), ...errorResponses } },
    },
    async (request, reply) => {
      const endpoint = await load(request.params.endpoint_id);
      await endpointSettings.replaceHeaders(deps, endpoint, request.body.headers);
      reply.code(204);
      return null;
    },
  );
}
