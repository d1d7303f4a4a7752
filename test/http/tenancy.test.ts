import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/**
 * Tenants are walls: an app-scoped token sees only its own app, and it cannot even tell another
 * app's records apart from records that do not exist.
 */

interface Reply<T = unknown> {
  status: number;
  contentType: string | null;
  text: string;
  body: T;
}

interface ErrorBody {
  code: string;
  detail: unknown;
}

interface IdOut {
  id: string;
  uid?: string | null;
  name?: string;
}

interface ListOut<T = IdOut> {
  data: T[];
  done: boolean;
}

/** Ids of the records a route template is filled in with. */
interface Ids {
  app: string;
  ep: string;
  msg: string;
  attempt: string;
}

interface Route {
  label: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: (ids: Ids) => string;
  body?: (ids: Ids) => unknown;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** An id shaped like Hookgate's (`prefix_` + 22 base62 chars) that names nothing. */
function randomId(prefix: string): string {
  return `${prefix}_${[...randomBytes(22)].map((b) => BASE62[b % 62]).join('')}`;
}

let hg: TestHookgate;

async function send<T = unknown>(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Reply<T>> {
  const res = await fetch(`${hg.url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    text,
    body: (text ? JSON.parse(text) : null) as T,
  };
}

function call<T = unknown>(token: string, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  return send<T>(method, path, { authorization: `Bearer ${token}` }, body);
}

function admin<T = unknown>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
  return call<T>(hg.adminToken, method, path, body);
}

/** Every route under /api/v1/app/{app_id}, with a body that passes validation. */
const APP_ROUTES: Route[] = [
  { label: 'get app', method: 'GET', path: (r) => `/api/v1/app/${r.app}` },
  {
    label: 'put app',
    method: 'PUT',
    path: (r) => `/api/v1/app/${r.app}`,
    body: () => ({ name: 'hijacked' }),
  },
  {
    label: 'patch app',
    method: 'PATCH',
    path: (r) => `/api/v1/app/${r.app}`,
    body: () => ({ name: 'hijacked' }),
  },
  { label: 'delete app', method: 'DELETE', path: (r) => `/api/v1/app/${r.app}` },
  { label: 'list endpoints', method: 'GET', path: (r) => `/api/v1/app/${r.app}/endpoint` },
  {
    label: 'create endpoint',
    method: 'POST',
    path: (r) => `/api/v1/app/${r.app}/endpoint`,
    body: () => ({ url: 'http://127.0.0.1:9/evil' }),
  },
  { label: 'get endpoint', method: 'GET', path: (r) => `/api/v1/app/${r.app}/endpoint/${r.ep}` },
  {
    label: 'put endpoint',
    method: 'PUT',
    path: (r) => `/api/v1/app/${r.app}/endpoint/${r.ep}`,
    body: () => ({ url: 'http://127.0.0.1:9/evil' }),
  },
  {
    label: 'patch endpoint',
    method: 'PATCH',
    path: (r) => `/api/v1/app/${r.app}/endpoint/${r.ep}`,
    body: () => ({ url: 'http://127.0.0.1:9/evil' }),
  },
  { label: 'delete endpoint', method: 'DELETE', path: (r) => `/api/v1/app/${r.app}/endpoint/${r.ep}` },
  { label: 'get secret', method: 'GET', path: (r) => `/api/v1/app/${r.app}/endpoint/${r.ep}/secret` },
  {
    label: 'rotate secret',
    method: 'POST',
    path: (r) => `/api/v1/app/${r.app}/endpoint/${r.ep}/secret/rotate`,
    body: () => ({}),
  },
  { label: 'get headers', method: 'GET', path: (r) => `/api/v1/app/${r.app}/endpoint/${r.ep}/headers` },
  {
    label: 'put headers',
    method: 'PUT',
    path: (r) => `/api/v1/app/${r.app}/endpoint/${r.ep}/headers`,
    body: () => ({ headers: { 'X-Evil': '1' } }),
  },
  {
    label: 'patch headers',
    method: 'PATCH',
    path: (r) => `/api/v1/app/${r.app}/endpoint/${r.ep}/headers`,
    body: () => ({ headers: { 'X-Evil': '1' } }),
  },
  { label: 'endpoint stats', method: 'GET', path: (r) => `/api/v1/app/${r.app}/endpoint/${r.ep}/stats` },
  {
    label: 'recover endpoint',
    method: 'POST',
    path: (r) => `/api/v1/app/${r.app}/endpoint/${r.ep}/recover`,
    body: () => ({ since: new Date(Date.now() - 3600_000).toISOString() }),
  },
  { label: 'list messages', method: 'GET', path: (r) => `/api/v1/app/${r.app}/msg` },
  {
    label: 'publish message',
    method: 'POST',
    path: (r) => `/api/v1/app/${r.app}/msg`,
    body: () => ({ eventType: 'evil.event', payload: { evil: true } }),
  },
  {
    label: 'publish msg with inline app',
    method: 'POST',
    path: (r) => `/api/v1/app/${r.app}/msg`,
    body: () => ({ eventType: 'evil.event', payload: { evil: true }, application: { name: 'evil' } }),
  },
  { label: 'get message', method: 'GET', path: (r) => `/api/v1/app/${r.app}/msg/${r.msg}` },
  {
    label: 'list message endpoints',
    method: 'GET',
    path: (r) => `/api/v1/app/${r.app}/msg/${r.msg}/endpoint`,
  },
  {
    label: 'resend',
    method: 'POST',
    path: (r) => `/api/v1/app/${r.app}/msg/${r.msg}/endpoint/${r.ep}/resend`,
    body: () => ({}),
  },
  {
    label: 'list attempts by endpoint',
    method: 'GET',
    path: (r) => `/api/v1/app/${r.app}/attempt/endpoint/${r.ep}`,
  },
  {
    label: 'list attempts by message',
    method: 'GET',
    path: (r) => `/api/v1/app/${r.app}/attempt/msg/${r.msg}`,
  },
  {
    label: 'get attempt',
    method: 'GET',
    path: (r) => `/api/v1/app/${r.app}/msg/${r.msg}/attempt/${r.attempt}`,
  },
];

/** How a probe of someone else's record looks, reduced to what a caller can observe. */
function observable(reply: Reply) {
  return { status: reply.status, contentType: reply.contentType, text: reply.text, body: reply.body };
}

describe.each(STORES)('tenant isolation of app-scoped tokens (%s)', (store) => {
  let receiver: Receiver;
  let appA: IdOut;
  let appB: IdOut;
  let epA: IdOut;
  let epB: IdOut;
  let msgA: IdOut;
  let msgB: IdOut;
  let attemptA: string;
  let attemptB: string;
  let tokenA: string;
  const suffix = randomBytes(4).toString('hex');
  const uidA = `tenant-a-${suffix}`;
  const uidB = `tenant-b-${suffix}`;

  /** Everything an admin can see of B, to prove the rejected calls changed nothing. */
  async function snapshotB() {
    const app = await admin(`GET`, `/api/v1/app/${appB.id}`);
    const endpoints = await admin<ListOut>('GET', `/api/v1/app/${appB.id}/endpoint?limit=250`);
    const messages = await admin<ListOut>('GET', `/api/v1/app/${appB.id}/msg?limit=250`);
    const endpoint = await admin('GET', `/api/v1/app/${appB.id}/endpoint/${epB.id}`);
    const headers = await admin('GET', `/api/v1/app/${appB.id}/endpoint/${epB.id}/headers`);
    const secret = await admin('GET', `/api/v1/app/${appB.id}/endpoint/${epB.id}/secret`);
    const deliveries = await admin('GET', `/api/v1/app/${appB.id}/msg/${msgB.id}/endpoint`);
    for (const r of [app, endpoints, messages, endpoint, headers, secret, deliveries])
      expect(r.status).toBe(200);
    return {
      app: app.body,
      endpoints: endpoints.body,
      messages: messages.body,
      endpoint: endpoint.body,
      headers: headers.body,
      secret: secret.body,
      deliveries: deliveries.body,
    };
  }
  let beforeB: Awaited<ReturnType<typeof snapshotB>>;

  beforeAll(async () => {
    hg = await startTestHookgate({ store });
    receiver = await startReceiver();

    const created = async (method: string, path: string, body: unknown, status: number) => {
      const r = await admin<IdOut>(method, path, body);
      expect(r.status, r.text).toBe(status);
      return r.body;
    };
    appA = await created('POST', '/api/v1/app', { name: 'Tenant A', uid: uidA }, 201);
    appB = await created('POST', '/api/v1/app', { name: 'Tenant B', uid: uidB }, 201);
    epA = await created('POST', `/api/v1/app/${appA.id}/endpoint`, { url: receiver.url, uid: 'ep-a' }, 201);
    epB = await created(
      'POST',
      `/api/v1/app/${appB.id}/endpoint`,
      { url: receiver.url, uid: 'ep-b', headers: { 'X-Tenant': 'b' } },
      201,
    );
    msgA = await created(
      'POST',
      `/api/v1/app/${appA.id}/msg`,
      { eventType: 'invoice.paid', eventId: 'evt-a-1', payload: { tenant: 'A' } },
      202,
    );
    msgB = await created(
      'POST',
      `/api/v1/app/${appB.id}/msg`,
      { eventType: 'invoice.paid', eventId: 'evt-b-1', payload: { tenant: 'B' } },
      202,
    );
    await receiver.waitFor(2);
    const firstAttempt = (app: string, msg: string) =>
      eventually(async () => {
        const r = await admin<ListOut>('GET', `/api/v1/app/${app}/attempt/msg/${msg}`);
        return r.body.data[0]?.id ?? null;
      });
    attemptA = await firstAttempt(appA.id, msgA.id);
    attemptB = await firstAttempt(appB.id, msgB.id);

    const access = await admin<{ token: string; url: string }>(
      'POST',
      `/api/v1/auth/app-portal-access/${appA.id}`,
      {},
    );
    expect(access.status, access.text).toBe(200);
    expect(access.body.url).toContain(appA.id);
    tokenA = access.body.token;
    expect(tokenA).toMatch(/\S+/);

    beforeB = await snapshotB();
  });

  afterAll(async () => {
    await hg?.destroy();
    await receiver?.close();
  });

  it('works on every route of its own app', async () => {
    const a = (method: string, path: string, body?: unknown) =>
      call<IdOut & ListOut>(tokenA, method, path, body);
    const ok = (r: Reply, status = 200) => expect(r.status, r.text).toBe(status);

    for (const ref of [appA.id, uidA]) {
      const r = await a('GET', `/api/v1/app/${ref}`);
      ok(r);
      expect(r.body).toMatchObject({ id: appA.id, uid: uidA, name: 'Tenant A' });
    }

    const endpoints = await a('GET', `/api/v1/app/${appA.id}/endpoint`);
    ok(endpoints);
    expect(endpoints.body.data.map((e) => e.id)).toEqual([epA.id]);
    for (const ref of [epA.id, 'ep-a']) {
      const r = await a('GET', `/api/v1/app/${appA.id}/endpoint/${ref}`);
      ok(r);
      expect(r.body.id).toBe(epA.id);
    }
    const secret = await a('GET', `/api/v1/app/${appA.id}/endpoint/${epA.id}/secret`);
    ok(secret);
    expect(secret.body).toEqual(
      (await admin('GET', `/api/v1/app/${appA.id}/endpoint/${epA.id}/secret`)).body,
    );
    expect(secret.text).toMatch(/whsec_/);
    ok(await a('GET', `/api/v1/app/${appA.id}/endpoint/${epA.id}/headers`));
    ok(
      await a('PUT', `/api/v1/app/${appA.id}/endpoint/${epA.id}/headers`, { headers: { 'X-Tenant': 'a' } }),
      204,
    );
    const headers = await a('GET', `/api/v1/app/${appA.id}/endpoint/${epA.id}/headers`);
    expect(headers.body).toEqual({ headers: { 'X-Tenant': 'a' }, sensitive: [] });
    const stats = await a('GET', `/api/v1/app/${appA.id}/endpoint/${epA.id}/stats`);
    ok(stats);
    expect(stats.body).toMatchObject({ success: 1 });

    const messages = await a('GET', `/api/v1/app/${appA.id}/msg`);
    ok(messages);
    expect(messages.body.data.map((m) => m.id)).toEqual([msgA.id]);
    for (const ref of [msgA.id, 'evt-a-1']) {
      const r = await a('GET', `/api/v1/app/${appA.id}/msg/${ref}`);
      ok(r);
      expect(r.body).toMatchObject({ id: msgA.id, payload: { tenant: 'A' } });
    }
    const deliveries = await a('GET', `/api/v1/app/${appA.id}/msg/${msgA.id}/endpoint`);
    ok(deliveries);
    expect(deliveries.body.data.map((d) => d.id)).toEqual([epA.id]);
    for (const path of [`attempt/endpoint/${epA.id}`, `attempt/msg/${msgA.id}`]) {
      const r = await a('GET', `/api/v1/app/${appA.id}/${path}`);
      ok(r);
      expect(r.body.data.map((x) => x.id)).toEqual([attemptA]);
    }
    const attempt = await a('GET', `/api/v1/app/${appA.id}/msg/${msgA.id}/attempt/${attemptA}`);
    ok(attempt);
    expect(attempt.body.id).toBe(attemptA);

    const newEndpoint = await a('POST', `/api/v1/app/${appA.id}/endpoint`, { url: `${receiver.url}?second` });
    ok(newEndpoint, 201);
    const published = await a('POST', `/api/v1/app/${appA.id}/msg`, {
      eventType: 'invoice.paid',
      payload: { tenant: 'A', n: 2 },
    });
    ok(published, 202);
    expect(published.body.id).toMatch(/^msg_/);
    // App settings (name, uid) are the operator's: a tenant token may not change them.
    ok(await a('PATCH', `/api/v1/app/${appA.id}`, { metadata: { touched: 'yes' } }), 403);
    ok(await a('PUT', `/api/v1/app/${appA.id}`, { name: 'renamed', uid: 'squatted-uid' }), 403);
    ok(await a('DELETE', `/api/v1/app/${appA.id}/endpoint/${newEndpoint.body.id}`), 204);
    const after = await admin<ListOut>('GET', `/api/v1/app/${appA.id}/msg`);
    expect(after.body.data.map((m) => m.id)).toContain(published.body.id);
  });

  it('lists only its own app', async () => {
    const r = await call<ListOut>(tokenA, 'GET', '/api/v1/app');
    expect(r.status).toBe(200);
    expect(r.body.data.map((x) => x.id)).toEqual([appA.id]);
    expect(r.body.done).toBe(true);
    const all = await admin<ListOut>('GET', '/api/v1/app');
    expect(all.body.data.map((x) => x.id).sort()).toEqual([appA.id, appB.id].sort());
  });

  describe.each([
    { ref: 'id', other: () => appB.id, missing: () => randomId('app') },
    { ref: 'uid', other: () => uidB, missing: () => `tenant-missing-${randomBytes(4).toString('hex')}` },
  ])('on app B addressed by its $ref', ({ other, missing }) => {
    it.each(APP_ROUTES)('$method $label answers exactly as for an app that does not exist', async (route) => {
      const ids = { app: other(), ep: epB.id, msg: msgB.id, attempt: attemptB };
      const nowhere = { ...ids, app: missing() };
      const onB = await call<ErrorBody>(tokenA, route.method, route.path(ids), route.body?.(ids));
      const onNothing = await call<ErrorBody>(
        tokenA,
        route.method,
        route.path(nowhere),
        route.body?.(nowhere),
      );
      expect(onB.status, onB.text).toBe(404);
      expect(onB.body).toEqual({ code: 'app_not_found', detail: expect.any(String) });
      expect(observable(onB)).toEqual(observable(onNothing));
    });
  });

  const CROSS_APP: Array<{
    label: string;
    method: Route['method'];
    path: () => string;
    random: () => string;
  }> = [
    {
      label: "B's endpoint by id",
      method: 'GET',
      path: () => `/api/v1/app/${appA.id}/endpoint/${epB.id}`,
      random: () => `/api/v1/app/${appA.id}/endpoint/${randomId('ep')}`,
    },
    {
      label: "B's endpoint by uid",
      method: 'GET',
      path: () => `/api/v1/app/${appA.id}/endpoint/ep-b`,
      random: () => `/api/v1/app/${appA.id}/endpoint/ep-missing`,
    },
    {
      label: "B's endpoint secret",
      method: 'GET',
      path: () => `/api/v1/app/${appA.id}/endpoint/${epB.id}/secret`,
      random: () => `/api/v1/app/${appA.id}/endpoint/${randomId('ep')}/secret`,
    },
    {
      label: "B's endpoint headers",
      method: 'GET',
      path: () => `/api/v1/app/${appA.id}/endpoint/${epB.id}/headers`,
      random: () => `/api/v1/app/${appA.id}/endpoint/${randomId('ep')}/headers`,
    },
    {
      label: "B's endpoint stats",
      method: 'GET',
      path: () => `/api/v1/app/${appA.id}/endpoint/${epB.id}/stats`,
      random: () => `/api/v1/app/${appA.id}/endpoint/${randomId('ep')}/stats`,
    },
    {
      label: "deleting B's endpoint",
      method: 'DELETE',
      path: () => `/api/v1/app/${appA.id}/endpoint/${epB.id}`,
      random: () => `/api/v1/app/${appA.id}/endpoint/${randomId('ep')}`,
    },
    {
      label: "attempts of B's endpoint",
      method: 'GET',
      path: () => `/api/v1/app/${appA.id}/attempt/endpoint/${epB.id}`,
      random: () => `/api/v1/app/${appA.id}/attempt/endpoint/${randomId('ep')}`,
    },
    {
      label: "A's msg attempts, B's endpoint_id",
      method: 'GET',
      path: () => `/api/v1/app/${appA.id}/attempt/msg/${msgA.id}?endpoint_id=${epB.id}`,
      random: () => `/api/v1/app/${appA.id}/attempt/msg/${msgA.id}?endpoint_id=${randomId('ep')}`,
    },
    {
      label: "resend A's msg to B's endpoint",
      method: 'POST',
      path: () => `/api/v1/app/${appA.id}/msg/${msgA.id}/endpoint/${epB.id}/resend`,
      random: () => `/api/v1/app/${appA.id}/msg/${msgA.id}/endpoint/${randomId('ep')}/resend`,
    },
    {
      label: "B's message by id",
      method: 'GET',
      path: () => `/api/v1/app/${appA.id}/msg/${msgB.id}`,
      random: () => `/api/v1/app/${appA.id}/msg/${randomId('msg')}`,
    },
    {
      label: "B's message by eventId",
      method: 'GET',
      path: () => `/api/v1/app/${appA.id}/msg/evt-b-1`,
      random: () => `/api/v1/app/${appA.id}/msg/evt-missing`,
    },
    {
      label: "deliveries of B's message",
      method: 'GET',
      path: () => `/api/v1/app/${appA.id}/msg/${msgB.id}/endpoint`,
      random: () => `/api/v1/app/${appA.id}/msg/${randomId('msg')}/endpoint`,
    },
    {
      label: "attempts of B's message",
      method: 'GET',
      path: () => `/api/v1/app/${appA.id}/attempt/msg/${msgB.id}`,
      random: () => `/api/v1/app/${appA.id}/attempt/msg/${randomId('msg')}`,
    },
    {
      label: "B's attempt under A's message",
      method: 'GET',
      path: () => `/api/v1/app/${appA.id}/msg/${msgA.id}/attempt/${attemptB}`,
      random: () => `/api/v1/app/${appA.id}/msg/${msgA.id}/attempt/${randomId('atmpt')}`,
    },
  ];

  it.each(CROSS_APP)('under its own app path, $label is indistinguishable from a random id', async (c) => {
    const reply = await call<ErrorBody>(tokenA, c.method, c.path(), c.method === 'POST' ? {} : undefined);
    const random = await call<ErrorBody>(tokenA, c.method, c.random(), c.method === 'POST' ? {} : undefined);
    expect(reply.status, reply.text).toBe(404);
    expect(reply.body.code).toMatch(/^(endpoint|message|attempt)_not_found$/);
    expect(observable(reply)).toEqual(observable(random));
  });

  it.each([
    { label: 'POST /api/v1/app', method: 'POST', path: () => '/api/v1/app', body: { name: 'Sneaky' } },
    {
      label: 'POST /api/v1/event-type',
      method: 'POST',
      path: () => '/api/v1/event-type',
      body: { name: 'sneaky.event', description: 'x' },
    },
    {
      label: 'PUT /api/v1/event-type/{x}',
      method: 'PUT',
      path: () => '/api/v1/event-type/sneaky.event',
      body: { description: 'x' },
    },
    {
      label: 'PATCH /api/v1/event-type/{x}',
      method: 'PATCH',
      path: () => '/api/v1/event-type/sneaky.event',
      body: { description: 'x' },
    },
    {
      label: 'DELETE /api/v1/event-type/{x}',
      method: 'DELETE',
      path: () => '/api/v1/event-type/sneaky.event',
    },
    {
      label: 'POST app-portal-access/{A}',
      method: 'POST',
      path: () => `/api/v1/auth/app-portal-access/${appA.id}`,
      body: {},
    },
    {
      label: 'POST app-portal-access/{B}',
      method: 'POST',
      path: () => `/api/v1/auth/app-portal-access/${appB.id}`,
      body: {},
    },
    { label: 'DELETE /api/v1/app/{A}', method: 'DELETE', path: () => `/api/v1/app/${appA.id}` },
  ] as Array<{ label: string; method: string; path: () => string; body?: unknown }>)(
    'admin-only $label is forbidden',
    async ({ method, path, body }) => {
      const r = await call<ErrorBody>(tokenA, method, path(), body);
      expect(r.status, r.text).toBe(403);
      expect(r.body).toEqual({ code: 'forbidden', detail: expect.any(String) });
    },
  );

  it('did not let any forbidden call take effect', async () => {
    const apps = await admin<ListOut>('GET', '/api/v1/app');
    expect(apps.body.data.map((x) => x.name).sort()).toEqual(['Tenant A', 'Tenant B']);
    const eventTypes = await admin<ListOut>('GET', '/api/v1/event-type?include_archived=true');
    expect(eventTypes.body.data).toEqual([]);
    expect((await call(tokenA, 'GET', `/api/v1/app/${appA.id}`)).status).toBe(200);
  });

  const NO_TOKEN: Array<{ label: string; headers: () => Record<string, string> }> = [
    { label: 'no Authorization header', headers: () => ({}) },
    { label: 'an unknown bearer token', headers: () => ({ authorization: `Bearer appsk_${randomId('x')}` }) },
    { label: 'the admin token with a typo', headers: () => ({ authorization: `Bearer ${hg.adminToken}x` }) },
    { label: 'an empty bearer', headers: () => ({ authorization: 'Bearer ' }) },
    { label: 'Basic credentials', headers: () => ({ authorization: 'Basic abc' }) },
    { label: 'a bare token without scheme', headers: () => ({ authorization: tokenA }) },
    { label: 'two tokens', headers: () => ({ authorization: `Bearer ${tokenA} ${tokenA}` }) },
  ];
  const SAMPLE: Array<{ method: string; path: () => string; body?: unknown }> = [
    { method: 'GET', path: () => '/api/v1/app' },
    { method: 'POST', path: () => '/api/v1/app', body: { name: 'Anonymous' } },
    { method: 'GET', path: () => `/api/v1/app/${appA.id}` },
    { method: 'GET', path: () => `/api/v1/app/${appB.id}/endpoint` },
    { method: 'GET', path: () => `/api/v1/app/${appB.id}/endpoint/${epB.id}/secret` },
    { method: 'POST', path: () => `/api/v1/app/${appB.id}/msg`, body: { eventType: 'a.b', payload: {} } },
    { method: 'DELETE', path: () => `/api/v1/app/${appB.id}` },
    { method: 'POST', path: () => `/api/v1/auth/app-portal-access/${appB.id}`, body: {} },
    { method: 'GET', path: () => '/api/v1/event-type' },
    { method: 'GET', path: () => `/api/v1/app/${randomId('app')}` },
  ];

  it.each(NO_TOKEN)('answers 401 unauthorized to $label', async ({ headers }) => {
    const replies = [];
    for (const route of SAMPLE) {
      const r = await send<ErrorBody>(route.method, route.path(), headers(), route.body);
      expect(r.status, `${route.method} ${route.path()}: ${r.text}`).toBe(401);
      expect(r.body).toEqual({ code: 'unauthorized', detail: expect.any(String) });
      replies.push(r.text);
    }
    // Whether the app exists or not, an unauthenticated caller learns nothing.
    expect(new Set(replies).size).toBe(1);
  });

  it('serves health without a token', async () => {
    const r = await send('GET', '/api/v1/health', {});
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
  });

  it('rejects an app token once it has expired', async () => {
    const access = await admin<{ token: string }>('POST', `/api/v1/auth/app-portal-access/${appA.id}`, {
      expiry: 1,
    });
    expect(access.status, access.text).toBe(200);
    const token = access.body.token;
    expect((await call(token, 'GET', `/api/v1/app/${appA.id}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1200));
    const r = await call<ErrorBody>(token, 'GET', `/api/v1/app/${appA.id}`);
    expect(r.status, r.text).toBe(401);
    expect(r.body).toEqual({ code: 'unauthorized', detail: expect.any(String) });
    // The long-lived token is unaffected.
    expect((await call(tokenA, 'GET', `/api/v1/app/${appA.id}`)).status).toBe(200);
  });

  it('gives a read-only token reads of its own app and nothing else', async () => {
    const access = await admin<{ token: string }>('POST', `/api/v1/auth/app-portal-access/${appA.id}`, {
      readOnly: true,
    });
    const ro = access.body.token;
    expect((await call(ro, 'GET', `/api/v1/app/${appA.id}/endpoint`)).status).toBe(200);
    expect((await call(ro, 'POST', `/api/v1/app/${appA.id}/endpoint`, { url: receiver.url })).status).toBe(
      403,
    );
    expect((await call(ro, 'DELETE', `/api/v1/app/${appA.id}/endpoint/${epA.id}`)).status).toBe(403);
    expect((await call(ro, 'GET', `/api/v1/app/${appB.id}`)).status).toBe(404);
  });

  it("left app B's data untouched after every rejected call", async () => {
    const afterB = await snapshotB();
    expect(afterB).toEqual(beforeB);
    expect(afterB.app).toMatchObject({ id: appB.id, name: 'Tenant B', uid: uidB });
    expect(afterB.endpoints.data).toHaveLength(1);
    expect(afterB.messages.data).toHaveLength(1);
    expect(afterB.headers).toEqual({ headers: { 'X-Tenant': 'b' }, sensitive: [] });
    // Only the original delivery to B's endpoint ever happened: nothing was resent or recovered.
    const attempts = await admin<ListOut>('GET', `/api/v1/app/${appB.id}/attempt/endpoint/${epB.id}`);
    expect(attempts.body.data.map((x) => x.id)).toEqual([attemptB]);
  });
});
