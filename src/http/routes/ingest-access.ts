import { Type } from 'typebox';
import { ApiError } from '../../domain/errors.js';
import { ErrorOut, errorResponses } from '../schemas/common.js';
import {
  IngestDashboardIn,
  IngestTransformationOut,
  IngestTransformationPatch,
  SourceEndpointParams,
  SourceParams,
} from '../schemas/ingest.js';
import { AppPortalAccessOut } from '../schemas/messages.js';
import type { Api, ApiDeps } from '../types.js';
import { issueAppAccess } from './access.js';
import { loadEndpoint } from './endpoints.js';
import { loadSource } from './ingest-sources.js';

/** Svix Ingest's dashboard default token lifetime: 7 days. */
const DASHBOARD_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Svix Ingest's source dashboard access and endpoint transformations. Admin only, like all of
 * /ingest.
 */
export function ingestAccessRoutes(api: Api, { store }: ApiDeps): void {
  api.post(
    '/ingest/api/v1/source/:source_id/dashboard',
    {
      // Never replayed from the idempotency table: that would keep the token there in clear.
      config: { caller: 'admin', idempotent: false },
      schema: {
        tags: ['Ingest Source'],
        params: SourceParams,
        body: Type.Optional(IngestDashboardIn),
        response: { 200: AppPortalAccessOut, ...errorResponses },
      },
    },
    async (request) => {
      const source = await loadSource(store, request.params.source_id);
      // The token is scoped to the source's application: its endpoints, messages and attempts.
      return issueAppAccess(store, request, source.appId, {
        ttlSeconds: request.body?.expiry ?? DASHBOARD_TTL_SECONDS,
        readOnly: request.body?.readOnly ?? false,
      });
    },
  );

  // Running transformations needs a sandbox Hookgate does not have yet: the SDK's calls get
  // 501 not_supported (DESIGN.md), after the source and endpoint are found.
  const transformation = '/ingest/api/v1/source/:source_id/endpoint/:endpoint_id/transformation';
  const notSupported = async (request: { params: { source_id: string; endpoint_id: string } }) => {
    const source = await loadSource(store, request.params.source_id);
    await loadEndpoint(store, source.appId, request.params.endpoint_id);
    throw new ApiError('not_supported', 'Ingest endpoint transformations are not supported yet.');
  };
  const tags = ['Ingest Endpoint'];
  api.get(
    transformation,
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params: SourceEndpointParams,
        response: { 200: IngestTransformationOut, 501: ErrorOut, ...errorResponses },
      },
    },
    async (request) => notSupported(request),
  );
  api.patch(
    transformation,
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params: SourceEndpointParams,
        body: IngestTransformationPatch,
        response: { 204: Type.Null(), 501: ErrorOut, ...errorResponses },
      },
    },
    async (request) => notSupported(request),
  );
}
