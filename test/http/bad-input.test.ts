import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/**
 * Bad input gets a clear error and changes nothing: every rejected request answers a 4xx with a
 * stable machine-readable `code`, and afterwards no list has grown and no record has changed.
 */

interface Reply<T = unknown> {
  status: number;
  text: string;
  headers: Headers;
  body: T;
}

interface ErrorBody {
  code: string;
  detail: unknown;
}

interface IdOut {
  id: string;
  name?: string;
}

interface ListOut<T = IdOut> {
  data: T[];
}

interface Issue {
  loc: string[];
  msg: string;
  type: string;
}

interface RawRequest {
  method: string;
  path: string;
  /** An object is sent as JSON; a string is sent verbatim. */
  body?: unknown;
  headers?: Record<string, string>;
}

async function send<T = unknown>(hg: TestHookgate, req: RawRequest): Promise<Reply<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${hg.adminToken}` };
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${hg.url}${req.path}`, {
    method: req.method,
    headers: { ...headers, ...req.headers },
    body:
      req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, text, headers: res.headers, body: body as T };
}

/**
 * Asserts the `{code, detail}` error shape with a human sentence; a 422's detail is Svix's list
 * of `{loc, msg, type}` issues (HTTPValidationError), each with a sentence.
 */
function expectError(reply: Reply, status: number, code: string): void {
  expect(reply.status, reply.text).toBe(status);
  if (status === 422) {
    expect(reply.body).toEqual({ code, detail: expect.any(Array) });
    for (const issue of (reply.body as { detail: Issue[] }).detail) {
      expect(issue).toEqual({ loc: expect.any(Array), msg: expect.any(String), type: expect.any(String) });
      expect(issue.msg).not.toBe('');
    }
    return;
  }
  expect(reply.body).toEqual({ code, detail: expect.any(String) });
  expect((reply.body as ErrorBody).detail).not.toBe('');
}

/** Asserts Svix's 422 shape; `loc`, when given, must be the location of one of the issues. */
function expectValidation(reply: Reply, loc?: string[]): Issue[] {
  expect(reply.status, reply.text).toBe(422);
  const body = reply.body as { code: string; detail: Issue[] };
  expect(body.code).toBe('validation');
  expect(Array.isArray(body.detail)).toBe(true);
  expect(body.detail.length).toBeGreaterThan(0);
  for (const issue of body.detail) {
    expect(issue).toEqual({ loc: expect.any(Array), msg: expect.any(String), type: expect.any(String) });
    for (const part of issue.loc) expect(typeof part).toBe('string');
  }
  if (loc) expect(body.detail.map((i) => i.loc)).toContainEqual(loc);
  return body.detail;
}

/** `whsec_` + base64 of `n` bytes. */
function secretOf(n: number): string {
  return `whsec_${randomBytes(n).toString('base64')}`;
}

describe.each(STORES)('bad input (%s)', (store) => {
  let hg: TestHookgate;
  let receiver: Receiver;
  let appId: string;
  let endpointId: string;

  const api = <T = unknown>(req: RawRequest) => send<T>(hg, req);

  /** Everything a rejected request could have touched. */
  async function snapshot() {
    const get = async (path: string) => {
      const r = await api({ method: 'GET', path });
      expect(r.status, `${path}: ${r.text}`).toBe(200);
      return r.body;
    };
    return {
      apps: await get('/api/v1/app?limit=250'),
      app: await get(`/api/v1/app/${appId}`),
      endpoints: await get(`/api/v1/app/${appId}/endpoint?limit=250`),
      messages: await get(`/api/v1/app/${appId}/msg?limit=250`),
      headers: await get(`/api/v1/app/${appId}/endpoint/${endpointId}/headers`),
      secret: await get(`/api/v1/app/${appId}/endpoint/${endpointId}/secret`),
      eventTypes: await get('/api/v1/event-type?include_archived=true'),
    };
  }

  /** Sends the request and asserts that nothing changed because of it. */
  async function rejected<T = ErrorBody>(req: RawRequest): Promise<Reply<T>> {
    const before = await snapshot();
    const reply = await api<T>(req);
    expect(reply.status, reply.text).toBeGreaterThanOrEqual(400);
    expect(reply.status, reply.text).toBeLessThan(500);
    expect(await snapshot()).toEqual(before);
    return reply;
  }

  async function count(path: string): Promise<number> {
    const r = await api<ListOut>({
      method: 'GET',
      path: `${path}${path.includes('?') ? '&' : '?'}limit=250`,
    });
    expect(r.status, r.text).toBe(200);
    return r.body.data.length;
  }

  beforeAll(async () => {
    hg = await startTestHookgate({ store });
    receiver = await startReceiver();
    const app = await api<IdOut>({ method: 'POST', path: '/api/v1/app', body: { name: 'Bad Input Co' } });
    expect(app.status, app.text).toBe(201);
    appId = app.body.id;
    const ep = await api<IdOut>({
      method: 'POST',
      path: `/api/v1/app/${appId}/endpoint`,
      body: { url: receiver.url, headers: { 'X-Fixture': '1' } },
    });
    expect(ep.status, ep.text).toBe(201);
    endpointId = ep.body.id;
  });

  afterAll(async () => {
    await hg?.destroy();
    await receiver?.close();
  });

  describe('malformed bodies', () => {
    it('answers 400 invalid_json to a truncated JSON body', async () => {
      expectError(
        await rejected({ method: 'POST', path: '/api/v1/app', body: '{"name": "Acme"' }),
        400,
        'invalid_json',
      );
    });

    it('treats an empty JSON body as no body: 422 where a body is required', async () => {
      const reply = await rejected({ method: 'POST', path: '/api/v1/app', body: '' });
      expect(reply.status).toBe(422);
      expect((reply.body as { code: string }).code).toBe('validation');
    });

    it('refuses a __proto__ key outright', async () => {
      const r = await rejected({
        method: 'POST',
        path: '/api/v1/app',
        body: '{"name":"Acme","__proto__":{"x":1}}',
      });
      expectError(r, 400, 'invalid_json');
    });

    it('answers 415 unsupported_media_type to an XML body', async () => {
      const r = await rejected({
        method: 'POST',
        path: '/api/v1/app',
        body: '<app><name>Acme</name></app>',
        headers: { 'content-type': 'application/xml' },
      });
      expectError(r, 415, 'unsupported_media_type');
    });

    it('rejects a text/plain body with a 4xx and a code', async () => {
      const r = await rejected<ErrorBody>({
        method: 'POST',
        path: '/api/v1/app',
        body: '{"name":"Acme"}',
        headers: { 'content-type': 'text/plain' },
      });
      expect([400, 415, 422]).toContain(r.status);
      expect(r.body.code).toMatch(/^(unsupported_media_type|invalid_json|validation)$/);
    });
  });

  describe('applications', () => {
    it('answers 422 when the name is missing', async () => {
      const detail = expectValidation(
        await rejected({ method: 'POST', path: '/api/v1/app', body: { uid: 'no-name' } }),
        ['body', 'name'],
      );
      expect(detail.find((i) => i.loc.join('.') === 'body.name')!.type).toBe('value_error.required');
    });

    it('answers 422 when the name is empty', async () => {
      expectValidation(await rejected({ method: 'POST', path: '/api/v1/app', body: { name: '' } }), [
        'body',
        'name',
      ]);
    });

    it.each([
      { label: 'an object', name: {} },
      { label: 'a number', name: 123 },
      { label: 'a boolean', name: true },
      { label: 'an array', name: ['Acme'] },
    ])('answers 422 when the name is $label instead of a string', async ({ name }) => {
      expectValidation(await rejected({ method: 'POST', path: '/api/v1/app', body: { name } }), [
        'body',
        'name',
      ]);
    });

    it('answers 422 to a uid outside the identifier alphabet', async () => {
      const r = await rejected({
        method: 'POST',
        path: '/api/v1/app',
        body: { name: 'Acme', uid: 'has space' },
      });
      expectValidation(r, ['body', 'uid']);
    });
  });

  describe('endpoint URLs', () => {
    it.each(['ftp://x', 'not a url', '/relative/hook', 'http://user:pw@127.0.0.1/hook'])(
      'answers 422 invalid_url to %s',
      async (url) => {
        const r = await rejected({ method: 'POST', path: `/api/v1/app/${appId}/endpoint`, body: { url } });
        expectError(r, 422, 'invalid_url');
      },
    );

    it.each([
      'http://10.0.0.1/hook',
      'http://169.254.169.254/',
      'http://192.168.1.1/hook',
      'http://0.0.0.0/hook',
      'http://167772161/hook', // 10.0.0.1 written as one decimal number
      'http://[::ffff:10.0.0.1]/hook', // IPv4-mapped IPv6
      'http://[fd00:ec2::254]/',
    ])('answers 422 url_not_allowed to %s', async (url) => {
      const r = await rejected({ method: 'POST', path: `/api/v1/app/${appId}/endpoint`, body: { url } });
      expectError(r, 422, 'url_not_allowed');
    });

    it('refuses a private URL on PATCH too, leaving the endpoint as it was', async () => {
      const r = await rejected({
        method: 'PATCH',
        path: `/api/v1/app/${appId}/endpoint/${endpointId}`,
        body: { url: 'http://10.0.0.1/hook' },
      });
      expectError(r, 422, 'url_not_allowed');
      const ep = await api<{ url: string }>({
        method: 'GET',
        path: `/api/v1/app/${appId}/endpoint/${endpointId}`,
      });
      expect(ep.body.url).toBe(receiver.url);
    });
  });

  describe('endpoint secrets', () => {
    it('answers 422 validation to a secret that does not match the pattern', async () => {
      const r = await rejected({
        method: 'POST',
        path: `/api/v1/app/${appId}/endpoint`,
        body: { url: receiver.url, secret: 'whsec_short' },
      });
      expectValidation(r, ['body', 'secret']);
    });

    it.each([23, 65, 70])('answers 422 invalid_secret to a well-formed secret of %i bytes', async (n) => {
      const secret = secretOf(n);
      expect(secret).toMatch(/^(whsec_)?[a-zA-Z0-9+/=]{32,100}$/);
      const r = await rejected({
        method: 'POST',
        path: `/api/v1/app/${appId}/endpoint`,
        body: { url: receiver.url, secret },
      });
      expectError(r, 422, 'invalid_secret');
    });

    it.each([24, 30, 64])('accepts a secret of %i bytes and hands it back unchanged', async (n) => {
      const secret = secretOf(n);
      const before = await count(`/api/v1/app/${appId}/endpoint`);
      const r = await api<IdOut>({
        method: 'POST',
        path: `/api/v1/app/${appId}/endpoint`,
        body: { url: receiver.url, secret },
      });
      expect(r.status, r.text).toBe(201);
      const got = await api<{ key: string }>({
        method: 'GET',
        path: `/api/v1/app/${appId}/endpoint/${r.body.id}/secret`,
      });
      expect(got.body.key).toBe(secret);
      expect(await count(`/api/v1/app/${appId}/endpoint`)).toBe(before + 1);
      expect(
        (await api({ method: 'DELETE', path: `/api/v1/app/${appId}/endpoint/${r.body.id}` })).status,
      ).toBe(204);
    });

    it('refuses an oversized secret on rotation, keeping the current one', async () => {
      const r = await rejected({
        method: 'POST',
        path: `/api/v1/app/${appId}/endpoint/${endpointId}/secret/rotate`,
        body: { key: secretOf(70) },
      });
      expectError(r, 422, 'invalid_secret');
    });
  });

  describe('endpoint headers', () => {
    const headersPath = () => `/api/v1/app/${appId}/endpoint/${endpointId}/headers`;

    it.each([
      { headers: { 'webhook-id': 'x' }, code: 'reserved_header' },
      { headers: { 'Webhook-Signature': 'v1,forged' }, code: 'reserved_header' },
      { headers: { 'Content-Type': 'x' }, code: 'reserved_header' },
      { headers: { Host: 'evil.example' }, code: 'reserved_header' },
      { headers: { 'Transfer-Encoding': 'chunked' }, code: 'reserved_header' },
      { headers: { 'X-Ok': 'a\r\nInjected: 1' }, code: 'invalid_header' },
      { headers: { 'X-Ok': 'a\nInjected: 1' }, code: 'invalid_header' },
      { headers: { 'bad name': 'x' }, code: 'invalid_header' },
      { headers: { 'X-Fine': 'ok', 'webhook-id': 'x' }, code: 'reserved_header' },
    ])('PUT $headers answers 422 $code', async ({ headers, code }) => {
      const r = await rejected({ method: 'PUT', path: headersPath(), body: { headers } });
      expectError(r, 422, code);
    });

    it('PATCH with a reserved header answers 422 reserved_header', async () => {
      const r = await rejected({
        method: 'PATCH',
        path: headersPath(),
        body: { headers: { 'svix-id': 'x' } },
      });
      expectError(r, 422, 'reserved_header');
    });

    it('creating an endpoint with an injected header value creates nothing', async () => {
      const r = await rejected({
        method: 'POST',
        path: `/api/v1/app/${appId}/endpoint`,
        body: { url: receiver.url, headers: { 'X-Ok': 'a\r\nInjected: 1' } },
      });
      expectError(r, 422, 'invalid_header');
    });

    it('still holds the fixture header after every rejection', async () => {
      const r = await api({ method: 'GET', path: headersPath() });
      expect(r.body).toEqual({ headers: { 'X-Fixture': '1' }, sensitive: [] });
    });
  });

  describe('messages', () => {
    const msgPath = () => `/api/v1/app/${appId}/msg`;

    it.each([
      { label: 'a string', payload: 'str' },
      { label: 'an array', payload: [1, 2] },
      { label: 'null', payload: null },
      { label: 'a number', payload: 42 },
    ])('answers 422 when the payload is $label', async ({ payload }) => {
      const r = await rejected({
        method: 'POST',
        path: msgPath(),
        body: { eventType: 'invoice.paid', payload },
      });
      expectValidation(r, ['body', 'payload']);
    });

    it('answers 422 when the payload is missing', async () => {
      const r = await rejected({ method: 'POST', path: msgPath(), body: { eventType: 'invoice.paid' } });
      expectValidation(r, ['body', 'payload']);
    });

    it.each([
      { label: 'with a space', eventType: 'invoice paid' },
      { label: 'empty', eventType: '' },
      { label: 'a number', eventType: 123 },
    ])('answers 422 when the eventType is $label', async ({ eventType }) => {
      const r = await rejected({ method: 'POST', path: msgPath(), body: { eventType, payload: {} } });
      expectValidation(r, ['body', 'eventType']);
    });

    it('answers 422 to six channels', async () => {
      const channels = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
      const r = await rejected({
        method: 'POST',
        path: msgPath(),
        body: { eventType: 'a.b', payload: {}, channels },
      });
      expectValidation(r, ['body', 'channels']);
    });

    it('answers 422 to a channel outside the identifier alphabet', async () => {
      const r = await rejected({
        method: 'POST',
        path: msgPath(),
        body: { eventType: 'a.b', payload: {}, channels: ['bad channel'] },
      });
      expectValidation(r, ['body', 'channels', '0']);
    });
  });

  describe('lookups and lists', () => {
    it('answers 404 message_not_found to an unknown message id', async () => {
      const r = await rejected({
        method: 'GET',
        path: `/api/v1/app/${appId}/msg/msg_0000000000000000000000`,
      });
      expectError(r, 404, 'message_not_found');
    });

    it('answers 404 endpoint_not_found to an unknown endpoint id', async () => {
      const r = await rejected({
        method: 'GET',
        path: `/api/v1/app/${appId}/endpoint/ep_0000000000000000000000`,
      });
      expectError(r, 404, 'endpoint_not_found');
    });

    it('answers 404 app_not_found to an unknown app id', async () => {
      expectError(
        await rejected({ method: 'GET', path: '/api/v1/app/app_0000000000000000000000' }),
        404,
        'app_not_found',
      );
    });

    it('answers 404 not_found to an unknown route', async () => {
      expectError(await rejected({ method: 'GET', path: '/api/v1/no-such-thing' }), 404, 'not_found');
      expectError(
        await rejected({ method: 'POST', path: '/api/v2/app', body: { name: 'x' } }),
        404,
        'not_found',
      );
    });

    // limit=0 is allowed on these routes (the server spec's minimum is 0): spec-shapes.test.ts.
    it.each(['1000', '-1', 'abc'])('answers 422 to limit=%s', async (limit) => {
      for (const path of ['/api/v1/app', `/api/v1/app/${appId}/msg`, `/api/v1/app/${appId}/endpoint`]) {
        expectValidation(await rejected({ method: 'GET', path: `${path}?limit=${limit}` }), [
          'query',
          'limit',
        ]);
      }
    });
  });

  describe('idempotency', () => {
    it('answers a repeated Idempotency-Key with the first response and creates one app', async () => {
      const key = `idem-${randomBytes(6).toString('hex')}`;
      const before = await count('/api/v1/app');
      const req = {
        method: 'POST',
        path: '/api/v1/app',
        body: { name: 'Once Only' },
        headers: { 'idempotency-key': key },
      };
      const first = await api<IdOut>(req);
      const second = await api<IdOut>(req);
      expect(first.status, first.text).toBe(201);
      expect(second.status).toBe(first.status);
      expect(second.text).toBe(first.text);
      expect(await count('/api/v1/app')).toBe(before + 1);
      const apps = await api<ListOut>({ method: 'GET', path: '/api/v1/app?limit=250' });
      expect(apps.body.data.filter((a) => a.name === 'Once Only').map((a) => a.id)).toEqual([first.body.id]);
    });

    it('returns the first message for a repeated eventId and lists it once', async () => {
      const before = await count(`/api/v1/app/${appId}/msg`);
      const body = {
        eventType: 'order.paid',
        eventId: `evt-${randomBytes(6).toString('hex')}`,
        payload: { n: 1 },
      };
      const first = await api<IdOut>({ method: 'POST', path: `/api/v1/app/${appId}/msg`, body });
      const second = await api<IdOut>({ method: 'POST', path: `/api/v1/app/${appId}/msg`, body });
      expect(first.status, first.text).toBe(202);
      expect(second.status, second.text).toBe(202);
      expect(second.body.id).toBe(first.body.id);
      expect(second.body).toEqual(first.body);
      expect(await count(`/api/v1/app/${appId}/msg`)).toBe(before + 1);
      const listed = await api<ListOut<{ id: string; eventId: string }>>({
        method: 'GET',
        path: `/api/v1/app/${appId}/msg?limit=250`,
      });
      expect(listed.body.data.filter((m) => m.eventId === body.eventId).map((m) => m.id)).toEqual([
        first.body.id,
      ]);
    });
  });
});

describe.each(STORES)('oversized bodies (%s)', (store) => {
  let hg: TestHookgate;

  beforeAll(async () => {
    hg = await startTestHookgate({ store, maxPayloadBytes: 1024 });
  });
  afterAll(async () => {
    await hg?.destroy();
  });

  it('answers 413 payload_too_large to a 2 KB message and stores nothing', async () => {
    const app = await send<IdOut>(hg, {
      method: 'POST',
      path: '/api/v1/app',
      body: { name: 'Small Limits' },
    });
    expect(app.status, app.text).toBe(201);
    const msgPath = `/api/v1/app/${app.body.id}/msg`;

    const small = { eventType: 'a.b', payload: { blob: 'x'.repeat(100) } };
    const big = { eventType: 'a.b', payload: { blob: 'x'.repeat(2048) } };
    expect(JSON.stringify(big).length).toBeGreaterThan(2048);
    const r = await send(hg, { method: 'POST', path: msgPath, body: big });
    expectError(r, 413, 'payload_too_large');
    const listed = await send<ListOut>(hg, { method: 'GET', path: msgPath });
    expect(listed.body.data).toEqual([]);

    // The limit is the only reason: a small message on the same app is accepted.
    expect((await send(hg, { method: 'POST', path: msgPath, body: small })).status).toBe(202);
    const after = await send<ListOut>(hg, { method: 'GET', path: msgPath });
    expect(after.body.data).toHaveLength(1);
  });

  it('answers 413 to an oversized app body and creates no app', async () => {
    const before = await send<ListOut>(hg, { method: 'GET', path: '/api/v1/app' });
    const r = await send(hg, {
      method: 'POST',
      path: '/api/v1/app',
      body: { name: 'n', metadata: { k: 'v'.repeat(2000) } },
    });
    expectError(r, 413, 'payload_too_large');
    const after = await send<ListOut>(hg, { method: 'GET', path: '/api/v1/app' });
    expect(after.body.data).toEqual(before.body.data);
  });
});
