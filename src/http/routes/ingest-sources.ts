import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ApiError } from '../../domain/errors.js';
import type { Source } from '../../domain/model.js';
import { SOURCE_TYPES, sourceConfigProblem } from '../../inbound/providers/index.js';
import type { SourceInput, Store } from '../../store/store.js';
import { errorResponses, ingestListQueryOf, ListOf } from '../schemas/common.js';
import {
  IngestSourceIn,
  IngestSourceOut,
  IngestSourcePatch,
  RotateTokenOut,
  SourceParams,
} from '../schemas/ingest.js';
import type { Api, ApiDeps } from '../types.js';
import { pageQuery } from './paging.js';

/** The secret path segment of an ingest URL. */
function newIngestToken(): string {
  return randomBytes(24).toString('base64url');
}

export async function loadSource(store: Store, idOrUid: string): Promise<Source> {
  const source = await store.getSource(idOrUid);
  if (!source) throw new ApiError('source_not_found');
  return source;
}

type SourceFields = {
  name?: string;
  uid?: string | null;
  type?: string;
  config?: Record<string, unknown>;
  metadata?: Record<string, string>;
};

/** Request fields merged over the current source, checked to be a source that can verify. */
function sourceInput(body: SourceFields, base?: Source): SourceInput {
  const input: SourceInput = {
    name: body.name ?? base?.name ?? '',
    uid: body.uid !== undefined ? body.uid : (base?.uid ?? null),
    type: body.type ?? base?.type ?? '',
    config: body.config ?? base?.config ?? {},
    metadata: body.metadata ?? base?.metadata ?? {},
  };
  const problem = sourceConfigProblem(input.type, input.config as { secret?: string | null });
  if (problem === 'unsupported_source_type') {
    throw new ApiError(
      problem,
      `Source type "${input.type}" is not supported; use one of: ${SOURCE_TYPES.join(', ')}.`,
    );
  }
  // A source's secret sits in its config: the 422 says so.
  if (problem) throw new ApiError(problem, undefined, ['body', 'config', 'secret']);
  return input;
}

export function ingestUrl(deps: Pick<ApiDeps, 'publicUrl'>, request: FastifyRequest, source: Source): string {
  const base = deps.publicUrl ?? `${request.protocol}://${request.host}`;
  return `${base}/in/${source.id}/${source.token}`;
}

/** Inbound sources under Svix Ingest's paths. Admin only (enforced for all of /ingest in app.ts). */
export function ingestSourceRoutes(api: Api, deps: ApiDeps): void {
  const { store } = deps;
  const tags = ['Ingest Source'];
  const out = (request: FastifyRequest, s: Source) => {
    const { secret: _secret, ...config } = s.config;
    return {
      id: s.id,
      uid: s.uid,
      name: s.name,
      type: s.type,
      config,
      ingestUrl: ingestUrl(deps, request, s),
      metadata: s.metadata,
      createdAt: new Date(s.createdAt).toISOString(),
      updatedAt: new Date(s.updatedAt).toISOString(),
    };
  };

  api.get(
    '/ingest/api/v1/source',
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        querystring: ingestListQueryOf('src'),
        response: { 200: ListOf(IngestSourceOut), ...errorResponses },
      },
    },
    async (request) => {
      const page = await store.listSources(pageQuery(request.query));
      return { ...page, data: page.data.map((s) => out(request, s)) };
    },
  );

  api.post(
    '/ingest/api/v1/source',
    {
      config: { caller: 'admin' },
      schema: { tags, body: IngestSourceIn, response: { 201: IngestSourceOut, ...errorResponses } },
    },
    async (request, reply) => {
      const source = await store.createSource({ ...sourceInput(request.body), token: newIngestToken() });
      reply.code(201);
      return out(request, source);
    },
  );

  api.get(
    '/ingest/api/v1/source/:source_id',
    {
      config: { caller: 'admin' },
      schema: { tags, params: SourceParams, response: { 200: IngestSourceOut, ...errorResponses } },
    },
    async (request) => out(request, await loadSource(store, request.params.source_id)),
  );

  api.put(
    '/ingest/api/v1/source/:source_id',
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params: SourceParams,
        body: IngestSourceIn,
        response: { 200: IngestSourceOut, 201: IngestSourceOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const existing = await store.getSource(request.params.source_id);
      if (!existing) {
        // Svix upserts: PUT on an unknown id creates the source with that uid.
        const input = sourceInput({ uid: request.params.source_id, ...request.body });
        reply.code(201);
        return out(request, await store.createSource({ ...input, token: newIngestToken() }));
      }
      return out(request, await store.updateSource(existing.id, sourceInput(request.body)));
    },
  );

  api.patch(
    '/ingest/api/v1/source/:source_id',
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params: SourceParams,
        body: IngestSourcePatch,
        response: { 200: IngestSourceOut, ...errorResponses },
      },
    },
    async (request) => {
      const current = await loadSource(store, request.params.source_id);
      return out(request, await store.updateSource(current.id, sourceInput(request.body, current)));
    },
  );

  api.delete(
    '/ingest/api/v1/source/:source_id',
    {
      config: { caller: 'admin' },
      schema: { tags, params: SourceParams, response: { 204: Type.Null(), ...errorResponses } },
    },
    async (request, reply) => {
      const source = await loadSource(store, request.params.source_id);
      await store.deleteSource(source.id);
      reply.code(204);
      return null;
    },
  );

  api.post(
    '/ingest/api/v1/source/:source_id/token/rotate',
    {
      config: { caller: 'admin' },
      schema: { tags, params: SourceParams, response: { 200: RotateTokenOut, ...errorResponses } },
    },
    async (request) => {
      const source = await loadSource(store, request.params.source_id);
      const rotated = await store.rotateSourceToken(source.id, newIngestToken());
      return { ingestUrl: ingestUrl(deps, request, rotated) };
    },
  );
}
