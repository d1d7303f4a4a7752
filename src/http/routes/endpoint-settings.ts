import { Type } from 'typebox';
import { ApiError } from '../../domain/errors.js';
import { isSensitiveHeader } from '../../domain/headers.js';
import { newId } from '../../domain/ids.js';
import type { Endpoint } from '../../domain/model.js';
import { loadApp } from '../auth.js';
import { EndpointParams, errorResponses } from '../schemas/common.js';
import {
  EndpointHeadersIn,
  EndpointHeadersOut,
  EndpointHeadersPatchIn,
  EndpointSecretOut,
  EndpointSecretRotateIn,
  EndpointStatsOut,
  RecoverIn,
  RecoverOut,
  StatsQuery,
} from '../schemas/endpoints.js';
import type { Api, ApiDeps } from '../types.js';
import { timeParam } from '../wire.js';
import { checkHeaders, loadEndpoint, secretRotation } from './endpoints.js';

/** What an edit that may close an endpoint's circuit needs: the store, and the dispatcher to wake. */
type Fixing = Pick<ApiDeps, 'store' | 'wakeDispatcher'>;

/** Operations on an endpoint's secret and headers, shared by app and ingest endpoints. */
export const endpointSettings = {
  secret: (endpoint: Endpoint) => ({ key: endpoint.secrets[0]!.key }),

  /** A new secret closes the endpoint's circuit (see editClosesCircuit): its waiting work goes now. */
  async rotateSecret(
    { store, wakeDispatcher }: Fixing,
    endpoint: Endpoint,
    body: { key?: string | null; gracePeriodSeconds?: number | null } | undefined,
  ): Promise<void> {
    await store.rotateEndpointSecret(
      endpoint.appId,
      endpoint.id,
      secretRotation(body?.key, body?.gracePeriodSeconds),
    );
    wakeDispatcher();
  },

  /** Svix's EndpointHeadersOut: sensitive values are named, never shown. */
  headers(endpoint: Endpoint) {
    const entries = Object.entries(endpoint.headers);
    return {
      headers: Object.fromEntries(entries.filter(([name]) => !isSensitiveHeader(name))),
      sensitive: entries.map(([name]) => name).filter(isSensitiveHeader),
    };
  },

  /** New headers close the endpoint's circuit (see editClosesCircuit): its waiting work goes now. */
  async replaceHeaders(
    { store, wakeDispatcher }: Fixing,
    endpoint: Endpoint,
    headers: Record<string, string>,
  ): Promise<void> {
    checkHeaders(headers);
    await store.setEndpointHeaders(endpoint.appId, endpoint.id, headers);
    wakeDispatcher();
  },
};

/** An endpoint's secret, headers, statistics and recovery. */
export function endpointSettingsRoutes(api: Api, deps: ApiDeps): void {
  const { store, wakeDispatcher } = deps;
  const tags = ['Endpoint'];
  const load = async (
    request: Parameters<typeof loadApp>[1],
    appIdOrUid: string,
    endpointIdOrUid: string,
  ) => {
    const app = await loadApp(store, request, appIdOrUid);
    return loadEndpoint(store, app.id, endpointIdOrUid);
  };

  api.get(
    '/api/v1/app/:app_id/endpoint/:endpoint_id/secret',
    {
      config: { caller: 'app' },
      schema: { tags, params: EndpointParams, response: { 200: EndpointSecretOut, ...errorResponses } },
    },
    async (request) => {
      return endpointSettings.secret(await load(request, request.params.app_id, request.params.endpoint_id));
    },
  );

  api.post(
    '/api/v1/app/:app_id/endpoint/:endpoint_id/secret/rotate',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: EndpointParams,
        body: Type.Optional(EndpointSecretRotateIn),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const endpoint = await load(request, request.params.app_id, request.params.endpoint_id);
      await endpointSettings.rotateSecret(deps, endpoint, request.body);
      reply.code(204);
      return null;
    },
  );

  api.get(
    '/api/v1/app/:app_id/endpoint/:endpoint_id/headers',
    {
      config: { caller: 'app' },
      schema: { tags, params: EndpointParams, response: { 200: EndpointHeadersOut, ...errorResponses } },
    },
    async (request) => {
      return endpointSettings.headers(await load(request, request.params.app_id, request.params.endpoint_id));
    },
  );

  api.put(
    '/api/v1/app/:app_id/endpoint/:endpoint_id/headers',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: EndpointParams,
        body: EndpointHeadersIn,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const endpoint = await load(request, request.params.app_id, request.params.endpoint_id);
      await endpointSettings.replaceHeaders(deps, endpoint, request.body.headers);
      reply.code(204);
      return null;
    },
  );

  api.patch(
    '/api/v1/app/:app_id/endpoint/:endpoint_id/headers',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: EndpointParams,
        body: EndpointHeadersPatchIn,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const endpoint = await load(request, request.params.app_id, request.params.endpoint_id);
      checkHeaders(request.body.headers);
      // Svix semantics: a null value removes the header, others are set; the rest stay.
      const merged: Record<string, string> = { ...endpoint.headers };
      for (const [name, value] of Object.entries(request.body.headers)) {
        for (const existing of Object.keys(merged)) {
          if (existing.toLowerCase() === name.toLowerCase()) delete merged[existing];
        }
        if (value !== null) merged[name] = value;
      }
      await store.setEndpointHeaders(endpoint.appId, endpoint.id, merged);
      wakeDispatcher();
      reply.code(204);
      return null;
    },
  );

  api.post(
    '/api/v1/app/:app_id/endpoint/:endpoint_id/recover',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: EndpointParams,
        body: RecoverIn,
        response: { 202: RecoverOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const endpoint = await load(request, request.params.app_id, request.params.endpoint_id);
      const since = timeParam(request.body.since);
      const until = timeParam(request.body.until);
      if (since !== null && until !== null && until < since) {
        throw new ApiError('validation', '"until" must not be before "since".', ['body', 'until']);
      }
      const now = Date.now();
      await store.recoverEndpoint(endpoint.appId, endpoint.id, { since, until }, now);
      wakeDispatcher();
      reply.code(202);
      // The failed deliveries are re-queued (committed) before we answer; Svix's shape still calls
      // the task `running` (its only status), and the deliveries themselves are now under way.
      return {
        id: newId('qtask', now),
        status: 'running',
        task: 'endpoint.recover',
        updatedAt: new Date(now).toISOString(),
      } as const;
    },
  );

  api.get(
    '/api/v1/app/:app_id/endpoint/:endpoint_id/stats',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: EndpointParams,
        querystring: StatsQuery,
        response: { 200: EndpointStatsOut, ...errorResponses },
      },
    },
    async (request) => {
      const endpoint = await load(request, request.params.app_id, request.params.endpoint_id);
      return store.endpointStats(endpoint.appId, endpoint.id, {
        since: timeParam(request.query.since),
        until: timeParam(request.query.until),
      });
    },
  );
}
