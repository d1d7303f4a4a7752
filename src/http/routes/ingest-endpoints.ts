import { Type } from 'typebox';
import type { Endpoint } from '../../domain/model.js';
import { errorResponses, ingestListQueryOf, ListOf } from '../schemas/common.js';
import {
  EndpointHeadersIn,
  EndpointHeadersOut,
  EndpointSecretOut,
  EndpointSecretRotateIn,
} from '../schemas/endpoints.js';
import {
  IngestEndpointIn,
  IngestEndpointOut,
  IngestEndpointUpdate,
  SourceEndpointParams,
  SourceParams,
} from '../schemas/ingest.js';
import type { Api, ApiDeps } from '../types.js';
import { endpointSettings } from './endpoint-settings.js';
import { announceEdit, endpointInput, loadEndpoint, secretOrGenerated } from './endpoints.js';
import { loadSource } from './ingest-sources.js';
import { pageQuery } from './paging.js';

function ingestEndpointOut(e: Endpoint) {
  return {
    id: e.id,
    uid: e.uid,
    url: e.url,
    description: e.description,
    disabled: e.disabled,
    metadata: e.metadata,
    rateLimit: e.rateLimit,
    throttleRate: e.rateLimit,
    createdAt: new Date(e.createdAt).toISOString(),
    updatedAt: new Date(e.updatedAt).toISOString(),
  };
}

/**
 * A source's endpoints: the team's own services that receive its events. They are endpoints of
 * the source's application, so delivery, retries, signing and replay are the outbound machinery.
 */
export function ingestEndpointRoutes(api: Api, deps: ApiDeps): void {
  const { store, allowNetworks } = deps;
  const tags = ['Ingest Endpoint'];
  const load = async (sourceIdOrUid: string, endpointIdOrUid: string) => {
    const source = await loadSource(store, sourceIdOrUid);
    return loadEndpoint(store, source.appId, endpointIdOrUid);
  };

  api.get(
    '/ingest/api/v1/source/:source_id/endpoint',
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params: SourceParams,
        querystring: ingestListQueryOf('ep'),
        response: { 200: ListOf(IngestEndpointOut), ...errorResponses },
      },
    },
    async (request) => {
      const source = await loadSource(store, request.params.source_id);
      const page = await store.listEndpoints(source.appId, pageQuery(request.query));
      return { ...page, data: page.data.map(ingestEndpointOut) };
    },
  );

  api.post(
    '/ingest/api/v1/source/:source_id/endpoint',
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params: SourceParams,
        body: IngestEndpointIn,
        response: { 201: IngestEndpointOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const source = await loadSource(store, request.params.source_id);
      const input = endpointInput(IngestEndpointIn, request.body, allowNetworks);
      const secret = secretOrGenerated(request.body.secret);
      reply.code(201);
      return ingestEndpointOut(await store.createEndpoint(source.appId, { ...input, secret }));
    },
  );

  api.get(
    '/ingest/api/v1/source/:source_id/endpoint/:endpoint_id',
    {
      config: { caller: 'admin' },
      schema: { tags, params: SourceEndpointParams, response: { 200: IngestEndpointOut, ...errorResponses } },
    },
    async (request) => ingestEndpointOut(await load(request.params.source_id, request.params.endpoint_id)),
  );

  api.put(
    '/ingest/api/v1/source/:source_id/endpoint/:endpoint_id',
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params: SourceEndpointParams,
        body: IngestEndpointUpdate,
        response: { 200: IngestEndpointOut, ...errorResponses },
      },
    },
    async (request) => {
      const current = await load(request.params.source_id, request.params.endpoint_id);
      const input = endpointInput(IngestEndpointUpdate, request.body, allowNetworks, current);
      const updated = await store.updateEndpoint(current.appId, current.id, input);
      return ingestEndpointOut(await announceEdit(deps, request, current, updated));
    },
  );

  api.delete(
    '/ingest/api/v1/source/:source_id/endpoint/:endpoint_id',
    {
      config: { caller: 'admin' },
      schema: { tags, params: SourceEndpointParams, response: { 204: Type.Null(), ...errorResponses } },
    },
    async (request, reply) => {
      const endpoint = await load(request.params.source_id, request.params.endpoint_id);
      await store.deleteEndpoint(endpoint.appId, endpoint.id);
      reply.code(204);
      return null;
    },
  );

  api.get(
    '/ingest/api/v1/source/:source_id/endpoint/:endpoint_id/secret',
    {
      config: { caller: 'admin' },
      schema: { tags, params: SourceEndpointParams, response: { 200: EndpointSecretOut, ...errorResponses } },
    },
    async (request) => {
      return endpointSettings.secret(await load(request.params.source_id, request.params.endpoint_id));
    },
  );

  api.post(
    '/ingest/api/v1/source/:source_id/endpoint/:endpoint_id/secret/rotate',
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params: SourceEndpointParams,
        body: Type.Optional(EndpointSecretRotateIn),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const endpoint = await load(request.params.source_id, request.params.endpoint_id);
      await endpointSettings.rotateSecret(deps, endpoint, request.body);
      reply.code(204);
      return null;
    },
  );

  api.get(
    '/ingest/api/v1/source/:source_id/endpoint/:endpoint_id/headers',
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params: SourceEndpointParams,
        response: { 200: EndpointHeadersOut, ...errorResponses },
      },
    },
    async (request) => {
      return endpointSettings.headers(await load(request.params.source_id, request.params.endpoint_id));
    },
  );

  api.put(
    '/ingest/api/v1/source/:source_id/endpoint/:endpoint_id/headers',
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params: SourceEndpointParams,
        body: EndpointHeadersIn,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const endpoint = await load(request.params.source_id, request.params.endpoint_id);
      await endpointSettings.replaceHeaders(deps, endpoint, request.body.headers);
      reply.code(204);
      return null;
    },
  );
}
