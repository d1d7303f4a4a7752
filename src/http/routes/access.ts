import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ApiError } from '../../domain/errors.js';
import type { Store } from '../../store/store.js';
import { generateAppToken, hashToken, loadApp } from '../auth.js';
import { AppIdParams, errorResponses } from '../schemas/common.js';
import { AppPortalAccessIn, AppPortalAccessOut } from '../schemas/messages.js';
import type { Api, ApiDeps } from '../types.js';
import { appInput, createOrGetApp } from './applications.js';

/** App-scoped tokens: issuing one (admin) and revoking it (the token itself). */
export function accessRoutes(api: Api, { store, appTokenTtlSeconds }: ApiDeps): void {
  api.post(
    '/api/v1/auth/app-portal-access/:app_id',
    {
      // Never replayed from the idempotency table: that would keep the token there in clear.
      config: { caller: 'admin', idempotent: false },
      schema: {
        tags: ['Authentication'],
        params: AppIdParams,
        body: Type.Optional(AppPortalAccessIn),
        response: { 200: AppPortalAccessOut, ...errorResponses },
      },
    },
    async (request) => {
      const inline = request.body?.application;
      if (inline && !(await store.getApp(request.params.app_id))) {
        await createOrGetApp(store, appInput({ ...inline, uid: request.params.app_id }), true);
      }
      const app = await loadApp(store, request, request.params.app_id);
      return issueAppAccess(store, request, app.id, {
        ttlSeconds: request.body?.expiry ?? appTokenTtlSeconds,
        readOnly: request.body?.readOnly ?? false,
      });
    },
  );

  // Svix: "Logout an app token. Trying to log out other tokens will fail." Any app token may
  // log itself out, read-only ones included (caller 'token'); the admin token answers 403
  // not_app_token, since it lives in configuration and no API call could bring it back. Never
  // replayed by Idempotency-Key: replays are scoped per app, so another token of the app could
  // be answered 204 without being logged out.
  api.post(
    '/api/v1/auth/logout',
    {
      config: { caller: 'token', idempotent: false },
      schema: { tags: ['Authentication'], response: { 204: Type.Null(), ...errorResponses } },
    },
    async (request, reply) => {
      const p = request.principal;
      if (p.kind !== 'app') throw new ApiError('not_app_token');
      await store.revokeAppToken(p.tokenHash);
      reply.code(204);
      return null;
    },
  );
}

/**
 * A new app-scoped token for `appId` and the portal URL carrying it (app-portal-access, and an
 * ingest source's dashboard, scoped to the source's application).
 */
export async function issueAppAccess(
  store: Store,
  request: FastifyRequest,
  appId: string,
  options: { ttlSeconds: number; readOnly: boolean },
): Promise<{ token: string; url: string }> {
  const token = generateAppToken();
  await store.saveAppToken(
    hashToken(token),
    { appId, readOnly: options.readOnly },
    Date.now() + options.ttlSeconds * 1000,
  );
  // There is no hosted portal: the URL names the API base the token works against.
  const base = `${request.protocol}://${request.host}`;
  return { token, url: `${base}/api/v1/app/${appId}#key=${token}` };
}
