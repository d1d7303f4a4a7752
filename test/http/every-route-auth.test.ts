import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';

/**
 * Every route in the OpenAPI document (so a route added later is covered without editing this
 * file) refuses a request without valid credentials with the same 401, before doing anything.
 */
describe.each(STORES)('every route without valid credentials (%s)', (store) => {
  let hg: TestHookgate;
  let routes: Array<{ method: string; path: string }>;
  let expiredToken: string;

  beforeAll(async () => {
    hg = await startTestHookgate({ store });
    const doc = (await (await fetch(`${hg.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => ({
        method: method.toUpperCase(),
        path: path.replace(/\{[^}]+\}/g, 'x1'),
      })),
    );
    const app = await hg.svix.application.create({ name: 'expiring' });
    expiredToken = (await hg.svix.authentication.appPortalAccess(app.id, { expiry: 1 })).token;
    await new Promise((r) => setTimeout(r, 1200));
  });
  afterAll(() => hg.destroy());

  const PUBLIC = (path: string) => path === '/api/v1/health' || path.startsWith('/in/');

  it('covers the whole API', () => {
    expect(routes.length).toBeGreaterThan(50);
  });

  for (const credentials of [
    undefined,
    'Bearer wrong-token',
    'Bearer',
    'Basic YWRtaW46YWRtaW4=',
    'expired',
  ]) {
    it(`answers 401 unauthorized with ${credentials ?? 'no Authorization header'}`, async () => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (credentials)
        headers.authorization = credentials === 'expired' ? `Bearer ${expiredToken}` : credentials;
      for (const route of routes.filter((r) => !PUBLIC(r.path))) {
        const res = await fetch(`${hg.url}${route.path}`, {
          method: route.method,
          headers,
          body: ['POST', 'PUT', 'PATCH'].includes(route.method) ? '{}' : undefined,
        });
        expect([route.method, route.path, res.status]).toEqual([route.method, route.path, 401]);
        expect(await res.json()).toEqual({
          code: 'unauthorized',
          detail: 'Missing or invalid authentication token.',
        });
      }
    });
  }
});
