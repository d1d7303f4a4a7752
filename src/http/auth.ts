import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../domain/errors.js';
import type { App } from '../domain/model.js';
import type { Store } from '../store/store.js';

/** Who is calling: the operator (admin token) or one app's portal token. */
export type Principal =
  | { kind: 'admin' }
  /** `tokenHash` names the token itself, so logout can revoke exactly it. */
  | { kind: 'app'; appId: string; readOnly: boolean; tokenHash: string };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

export const ADMIN_TOKEN_HASH_SETTING = 'admin_token_sha256';

/** Tokens are stored only as SHA-256 hashes: they are high-entropy, so no slow KDF is needed. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function generateAdminToken(): string {
  return `hgsk_${randomBytes(32).toString('base64url')}`;
}

export function generateAppToken(): string {
  return `appsk_${randomBytes(32).toString('base64url')}`;
}

/**
 * Resolves the bearer token into a principal, or throws 401. The admin hash is given at
 * start-up, or as a function when it may still change once (a node that loses the race to
 * store a generated token adopts the stored one); app tokens are looked up by hash. What the
 * principal may do is the route's to say (see callers.ts).
 */
export function makeAuthenticator(store: Store, adminTokenHash: string | (() => string)) {
  const currentHash = typeof adminTokenHash === 'function' ? adminTokenHash : () => adminTokenHash;
  return async function authenticate(request: FastifyRequest): Promise<Principal> {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new ApiError('unauthorized');
    const hash = hashToken(match[1]!);
    const hashBytes = Buffer.from(hash, 'hex');
    const adminHash = Buffer.from(currentHash(), 'hex');
    if (hashBytes.length === adminHash.length && timingSafeEqual(hashBytes, adminHash)) {
      return { kind: 'admin' };
    }
    const token = await store.findAppToken(hash, Date.now());
    if (!token) throw new ApiError('unauthorized');
    return { kind: 'app', tokenHash: hash, ...token };
  };
}

/** Narrows a route declared for `app` callers to the admin, inside its handler. */
export function requireAdmin(request: FastifyRequest): void {
  if (request.principal.kind !== 'admin') throw new ApiError('forbidden');
}

/**
 * Loads the app named in the path (id or uid) as the caller may see it. Another tenant's app
 * and a missing one answer the same 404, so a token learns nothing about apps not its own.
 */
export async function loadApp(store: Store, request: FastifyRequest, idOrUid: string): Promise<App> {
  const app = await store.getApp(idOrUid);
  if (!app) throw new ApiError('app_not_found');
  const p = request.principal;
  if (p.kind === 'app' && p.appId !== app.id) throw new ApiError('app_not_found');
  return app;
}
