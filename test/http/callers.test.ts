import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { authorise, registerCallers } from '../../src/http/callers.js';

describe('route callers', () => {
  it('refuses to register a route that does not say who may call it', async () => {
    const api = Fastify();
    registerCallers(api, async () => ({ kind: 'admin' }));
    expect(() => api.get('/undeclared', async () => 'reachable')).toThrow(/must declare config\.caller/);
    expect(() =>
      api.get('/misspelt', { config: { caller: 'everyone' as never } }, async () => 'reachable'),
    ).toThrow(/must declare config\.caller/);
    api.get('/declared', { config: { caller: 'public' } }, async () => 'reachable');
    await api.ready();
    expect((await api.inject('/declared')).body).toBe('reachable');
    expect((await api.inject('/undeclared')).statusCode).toBe(404);
    await api.close();
  });

  it('lets each kind of token call only what its routes declare', () => {
    const admin = { kind: 'admin' } as const;
    const app = { kind: 'app', appId: 'app_1', readOnly: false, tokenHash: 'h' } as const;
    const readOnly = { ...app, readOnly: true };
    const allowed = (
      caller: Parameters<typeof authorise>[0],
      principal: Parameters<typeof authorise>[1],
      method: string,
    ) => {
      try {
        authorise(caller, principal, method);
        return true;
      } catch {
        return false;
      }
    };
    expect([admin, app, readOnly].map((p) => allowed('admin', p, 'GET'))).toEqual([true, false, false]);
    expect([admin, app, readOnly].map((p) => allowed('app', p, 'GET'))).toEqual([true, true, true]);
    expect([admin, app, readOnly].map((p) => allowed('app', p, 'HEAD'))).toEqual([true, true, true]);
    expect([admin, app, readOnly].map((p) => allowed('app', p, 'POST'))).toEqual([true, true, false]);
    expect([admin, app, readOnly].map((p) => allowed('app', p, 'DELETE'))).toEqual([true, true, false]);
    expect([admin, app, readOnly].map((p) => allowed('token', p, 'POST'))).toEqual([true, true, true]);
  });
});
