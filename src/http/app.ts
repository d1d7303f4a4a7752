import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv, type Options as AjvOptions } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import { ApiError } from '../domain/errors.js';
import { jsonDepthExceeds } from '../domain/json-depth.js';
import { makeAuthenticator } from './auth.js';
import { registerCallers } from './callers.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { registerIdempotency } from './idempotency.js';
import { clientErrorHandler, registerListenerErrors } from './listener-errors.js';
import { registerNulGuard } from './nul-guard.js';
import { accessRoutes } from './routes/access.js';
import { applicationRoutes } from './routes/applications.js';
import { attemptRoutes } from './routes/attempts.js';
import { contentRoutes } from './routes/content.js';
import { endpointSettingsRoutes } from './routes/endpoint-settings.js';
import { endpointRoutes } from './routes/endpoints.js';
import { eventTypeRoutes } from './routes/event-types.js';
import { inboundRoutes } from './routes/inbound.js';
import { ingestAccessRoutes } from './routes/ingest-access.js';
import { ingestEndpointRoutes } from './routes/ingest-endpoints.js';
import { ingestLogRoutes } from './routes/ingest-log.js';
import { ingestSourceRoutes } from './routes/ingest-sources.js';
import { messageRoutes } from './routes/messages.js';
import { operationalWebhookRoutes } from './routes/operational-webhooks.js';
import type { Api, ApiDeps } from './types.js';

export interface HttpOptions extends ApiDeps {
  /**
   * SHA-256 (hex) of the admin token, or a function answering it on each request when it may
   * still change after the API listens (see adminTokenHash in cli/server.ts).
   */
  adminTokenHash: string | (() => string);
  /** Largest accepted request body in bytes; larger gets 413. */
  maxPayloadBytes: number;
  /** The process's logger; default: none. */
  loggerInstance?: FastifyBaseLogger;
}

/** Query parameters that are lists: Svix clients join them with commas, others repeat them. */
const LIST_PARAMS = new Set(['event_types', 'tag']);

function parseQuery(text: string): Record<string, string | string[]> {
  const params = new URLSearchParams(text);
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    out[key] = LIST_PARAMS.has(key)
      ? values.flatMap((v) => v.split(',')).filter(Boolean)
      : values[values.length - 1]!;
  }
  return out;
}

export async function buildApi(options: HttpOptions): Promise<Api> {
  const api = Fastify({
    ...(options.loggerInstance ? { loggerInstance: options.loggerInstance } : { logger: false }),
    bodyLimit: options.maxPayloadBytes,
    // Two log lines per request cost more than the rest of a publish; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Svix's JSON is camelCase with no prototype games; refuse __proto__ outright.
    onProtoPoisoning: 'error',
    // A path id may be a uid of up to 256 characters (Fastify's default limit is 100).
    routerOptions: { querystringParser: parseQuery, maxParamLength: 256 },
    // Router-level refusals (a longer path id, malformed percent-encoding) answer {code, detail} too.
    frameworkErrors: (error, request, reply) => errorHandler(error, request, reply),
    // So do Node's parser (431, 400, 408) and a server closing (503): see listener-errors.ts.
    clientErrorHandler,
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON bodies arrive typed: no coercion there (123 is not a name). Query strings and path
  // parameters are text and need it ("limit=10", "with_content=false", repeated list params).
  const ajvOptions: AjvOptions = { removeAdditional: false, useDefaults: true, allErrors: true };
  const bodyAjv = addFormats.default(new Ajv({ ...ajvOptions, coerceTypes: false }));
  const textAjv = addFormats.default(new Ajv({ ...ajvOptions, coerceTypes: 'array' }));
  api.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : textAjv).compile(schema),
  );
  // Only JSON is accepted; without this Fastify would parse text/plain and answer 422, not 415.
  api.removeContentTypeParser('text/plain');
  // An empty body labelled JSON (curl -H 'content-type: application/json' -X POST …/resend) is no
  // body, not malformed JSON; routes that need a body still answer 422.
  const parseJson = api.getDefaultJsonParser('error', 'ignore');
  api.removeContentTypeParser('application/json');
  api.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    // Refused before parsing: what walks a parsed body recursively (serialising the payload)
    // would overflow the stack, and parsing hundreds of thousands of levels stalls everyone.
    if (jsonDepthExceeds(body as string)) return done(new ApiError('json_too_deep'), undefined);
    parseJson(request, body as string, done);
  });

  api.decorateRequest('principal', null as never);
  api.setErrorHandler(errorHandler);
  api.setNotFoundHandler(notFoundHandler);

  await api.register(swagger, {
    openapi: {
      info: { title: 'Hookgate API', version: '0.1.0', description: 'Svix-compatible webhook gateway API.' },
      components: { securitySchemes: { HTTPBearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ HTTPBearer: [] }],
    },
  });

  registerListenerErrors(api);
  registerCallers(api, makeAuthenticator(options.store, options.adminTokenHash));
  registerNulGuard(api);
  registerIdempotency(api, options.store);

  // Readiness: 503 with the store's fault (a flag read, no query) while writes cannot succeed.
  api.get(
    '/api/v1/health',
    { config: { caller: 'public' }, schema: { tags: ['Health'], security: [] } },
    async (_request, reply) => {
      const health = options.store.health();
      if (health.state !== 'ok') throw new ApiError(health.fault);
      reply.code(204).send();
    },
  );
  api.get(
    '/api/v1/health/ping',
    { config: { caller: 'public' }, schema: { hide: true } },
    async (_request, reply) => {
      reply.code(204).send();
    },
  );
  api.get('/openapi.json', { config: { caller: 'public' }, schema: { hide: true } }, async () =>
    api.swagger(),
  );

  for (const routes of [
    applicationRoutes,
    eventTypeRoutes,
    endpointRoutes,
    endpointSettingsRoutes,
    messageRoutes,
    attemptRoutes,
    contentRoutes,
    accessRoutes,
    ingestSourceRoutes,
    ingestEndpointRoutes,
    ingestLogRoutes,
    ingestAccessRoutes,
    operationalWebhookRoutes,
  ]) {
    routes(api, options);
  }
  await inboundRoutes(api, options);
  return api;
}
