import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { ApiError } from '../domain/errors.js';
import type { Principal } from './auth.js';

/**
 * Who may call a route, declared on the route itself (`config: { caller }`):
 * - `public`: no token (health, the OpenAPI document, providers posting to `/in/…`);
 * - `admin`: the operator's admin token only;
 * - `app`: the admin token or any app token; the handler scopes an app token to its own app
 *   (`loadApp`), and a read-only app token may only read (GET, HEAD);
 * - `token`: any valid token, read-only ones included, whatever the method: the route acts on
 *   the calling token itself (logout).
 */
export type Caller = 'public' | 'admin' | 'app' | 'token';

const CALLERS: ReadonlySet<string> = new Set<Caller>(['public', 'admin', 'app', 'token']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route; every route must say (see `registerCallers`). */
    caller?: Caller;
  }
}

const READ_METHODS = new Set(['GET', 'HEAD']);

/** Throws unless `principal` may call a route declared for `caller` with `method`. */
export function authorise(caller: Caller, principal: Principal, method: string): void {
  if (caller === 'public' || caller === 'token') return;
  if (principal.kind === 'admin') return;
  if (caller === 'admin') throw new ApiError('forbidden');
  if (principal.readOnly && !READ_METHODS.has(method)) throw new ApiError('forbidden');
}

/**
 * Authorisation belongs to the matched route, never to the URL's spelling: the router decodes
 * percent-encoding, so a prefix test on the raw URL (`/%69ngest/…`) can be walked around. The
 * check runs in `onRequest`, which Fastify calls after routing (the route's config is known)
 * and before the body is parsed or validated, so an unauthenticated caller gets 401 whatever
 * it sends. A route that declares no caller fails at registration, so none can forget.
 */
export function registerCallers(
  api: FastifyInstance,
  authenticate: (request: FastifyRequest) => Promise<Principal>,
): void {
  api.addHook('onRoute', (route: RouteOptions) => {
    const caller = route.config?.caller;
    if (typeof caller !== 'string' || !CALLERS.has(caller))
      throw new Error(
        `route ${route.method} ${route.url} must declare config.caller (${[...CALLERS].join(', ')})`,
      );
  });

  api.addHook('onRequest', async (request) => {
    // No route matched: the caller must still authenticate first, so an unknown path tells an
    // anonymous caller nothing more than a known one does (401 either way).
    if (request.is404) {
      request.principal = await authenticate(request);
      return;
    }
    const caller = request.routeOptions.config.caller!;
    if (caller === 'public') return;
    request.principal = await authenticate(request);
    authorise(caller, request.principal, request.method);
  });
}
