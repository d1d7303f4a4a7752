import { Type } from 'typebox';
import { generateAppToken, hashToken, loadApp } from '../auth.js';
import { AppIdParams, errorResponses } from '../schemas/common.js';
import { AppPortalAccessIn, AppPortalAccessOut } from '../schemas/messages.js';
import type { Api, ApiDeps } from '../types.js';
import { appInput, createOrGetApp } from './applications.js';

/** App-scoped tokens and health. */
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
      const token = generateAppToken();
      const ttl = request.body?.expiry ?? appTokenTtlSeconds;
      await store.saveAppToken(
        hashToken(token),
        { appId: app.id, readOnly: request.body?.readOnly ?? false },
        Date.now() + ttl * 1000,
      );
      // There is no hosted portal: the URL names the API base the token works against.
      const base = `${request.protocol}://${request.host}`;
      return { token, url: `${base}/api/v1/app/${app.id}#key=${token}` };
    },
  );
}
