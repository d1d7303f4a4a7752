import { Type } from 'typebox';
import type { App } from '../../domain/model.js';
import type { AppInput, Store } from '../../store/store.js';
import { loadApp, requireAdmin } from '../auth.js';
import { ApplicationIn, ApplicationOut, ApplicationPatch } from '../schemas/applications.js';
import { AppIdParams, errorResponses, ListOf, listQueryOf } from '../schemas/common.js';
import type { Api, ApiDeps } from '../types.js';
import { appOut } from '../wire.js';
import { pageQuery } from './paging.js';

type ApplicationFields = {
  name?: string;
  uid?: string | null;
  metadata?: Record<string, string>;
  rateLimit?: number | null;
  throttleRate?: number | null;
};

export function appInput(body: ApplicationFields & { name: string }, base?: App): AppInput {
  return {
    name: body.name,
    uid: body.uid !== undefined ? body.uid : (base?.uid ?? null),
    metadata: body.metadata ?? base?.metadata ?? {},
    rateLimit: body.throttleRate ?? body.rateLimit ?? null,
  };
}

/** Creates the app, or with `getIfExists` returns the one that already has this uid. */
export async function createOrGetApp(
  store: Store,
  input: AppInput,
  getIfExists: boolean,
): Promise<{ app: App; created: boolean }> {
  if (getIfExists && input.uid) {
    const existing = await store.getApp(input.uid);
    if (existing) return { app: existing, created: false };
  }
  return { app: await store.createApp(input), created: true };
}

export function applicationRoutes(api: Api, { store }: ApiDeps): void {
  const tags = ['Application'];

  api.get(
    '/api/v1/app',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        querystring: listQueryOf('app'),
        response: { 200: ListOf(ApplicationOut), ...errorResponses },
      },
    },
    async (request) => {
      const p = request.principal;
      if (p.kind === 'app') {
        const app = await store.getApp(p.appId);
        const shown = app !== null && request.query.limit !== 0;
        return { data: shown ? [appOut(app)] : [], iterator: null, prevIterator: null, done: true };
      }
      const page = await store.listApps(pageQuery(request.query));
      return { ...page, data: page.data.map(appOut) };
    },
  );

  api.post(
    '/api/v1/app',
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        body: ApplicationIn,
        querystring: Type.Object({ get_if_exists: Type.Optional(Type.Boolean({ default: false })) }),
        response: { 200: ApplicationOut, 201: ApplicationOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { app, created } = await createOrGetApp(
        store,
        appInput(request.body),
        request.query.get_if_exists ?? false,
      );
      reply.code(created ? 201 : 200);
      return appOut(app);
    },
  );

  api.get(
    '/api/v1/app/:app_id',
    {
      config: { caller: 'app' },
      schema: { tags, params: AppIdParams, response: { 200: ApplicationOut, ...errorResponses } },
    },
    async (request) => appOut(await loadApp(store, request, request.params.app_id)),
  );

  api.put(
    '/api/v1/app/:app_id',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: AppIdParams,
        body: ApplicationIn,
        response: { 200: ApplicationOut, 201: ApplicationOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      // An app token may read its app but not rename it or take another uid (which would squat
      // a tenant's uid or probe whether it exists): app settings are the operator's.
      if (request.principal.kind === 'app') {
        await loadApp(store, request, request.params.app_id); // 404 unless it is the token's own app
        requireAdmin(request);
      }
      // Svix upserts: PUT on an unknown id creates the app with that uid.
      if (!(await store.getApp(request.params.app_id))) {
        const input = appInput({ uid: request.params.app_id, ...request.body });
        reply.code(201);
        return appOut(await store.createApp(input));
      }
      const app = await loadApp(store, request, request.params.app_id);
      return appOut(await store.updateApp(app.id, appInput(request.body, app)));
    },
  );

  // PUT, PATCH and DELETE are declared for 'app' callers, not 'admin', so that another tenant's
  // app answers the same 404 as a missing one; the handler then refuses the token's own app 403.
  api.patch(
    '/api/v1/app/:app_id',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: AppIdParams,
        body: ApplicationPatch,
        response: { 200: ApplicationOut, ...errorResponses },
      },
    },
    async (request) => {
      const app = await loadApp(store, request, request.params.app_id);
      requireAdmin(request);
      const merged = appInput({ name: app.name, rateLimit: app.rateLimit, ...request.body }, app);
      return appOut(await store.updateApp(app.id, merged));
    },
  );

  api.delete(
    '/api/v1/app/:app_id',
    {
      config: { caller: 'app' },
      schema: { tags, params: AppIdParams, response: { 204: Type.Null(), ...errorResponses } },
    },
    async (request, reply) => {
      const app = await loadApp(store, request, request.params.app_id);
      requireAdmin(request);
      await store.deleteApp(app.id);
      reply.code(204);
      return null;
    },
  );
}
