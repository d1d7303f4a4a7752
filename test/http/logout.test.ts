import { Svix } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';

/** `POST /api/v1/auth/logout` (Svix): an app token revokes itself; other tokens are untouched. */
describe.each(STORES)('logout (%s)', (store) => {
  let hg: TestHookgate;
  let appId: string;

  const call = async (token: string | null, method: string, path: string) => {
    const res = await fetch(`${hg.url}${path}`, {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
  };
  const portalToken = async (readOnly = false) =>
    (await hg.svix.authentication.appPortalAccess(appId, { readOnly })).token;

  beforeAll(async () => {
    hg = await startTestHookgate({ store });
    appId = (await hg.svix.application.create({ name: 'logout' })).id;
  });
  afterAll(() => hg?.destroy());

  it('revokes the calling app token and no other', async () => {
    const leaving = await portalToken();
    const staying = await portalToken();
    expect((await call(leaving, 'GET', `/api/v1/app/${appId}`)).status).toBe(200);

    expect(await call(leaving, 'POST', '/api/v1/auth/logout')).toEqual({ status: 204, body: null });
    for (const [method, path] of [
      ['GET', `/api/v1/app/${appId}`],
      ['GET', `/api/v1/app/${appId}/endpoint`],
      ['POST', '/api/v1/auth/logout'],
    ] as const) {
      expect(await call(leaving, method, path)).toEqual({
        status: 401,
        body: { code: 'unauthorized', detail: expect.any(String) },
      });
    }
    expect((await call(staying, 'GET', `/api/v1/app/${appId}`)).status).toBe(200);
  });

  it('lets a read-only token log itself out, and works through the svix client', async () => {
    const readOnly = await portalToken(true);
    expect((await call(readOnly, 'POST', '/api/v1/auth/logout')).status).toBe(204);
    expect((await call(readOnly, 'GET', `/api/v1/app/${appId}`)).status).toBe(401);

    const token = await portalToken();
    const client = new Svix(token, { serverUrl: hg.url });
    await client.authentication.logout();
    expect((await call(token, 'GET', `/api/v1/app/${appId}`)).status).toBe(401);
  });

  it('refuses to log out the admin token, which keeps working', async () => {
    expect(await call(hg.adminToken, 'POST', '/api/v1/auth/logout')).toEqual({
      status: 403,
      body: { code: 'not_app_token', detail: expect.stringMatching(/only app tokens/i) },
    });
    expect((await call(hg.adminToken, 'GET', '/api/v1/app')).status).toBe(200);
  });

  it('answers 401 without a token', async () => {
    expect(await call(null, 'POST', '/api/v1/auth/logout')).toEqual({
      status: 401,
      body: { code: 'unauthorized', detail: expect.any(String) },
    });
  });
});
