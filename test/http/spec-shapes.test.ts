import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/**
 * Wire shapes as the reference specs give them (svix-server-openapi.json, svix-ingest-openapi.json;
 * the parts relied on are quoted in the tests), and the spec operations Hookgate had left out.
 */

/** A JSON response body, read loosely: the assertions check its shape, not the types. */
// biome-ignore lint/suspicious/noExplicitAny: bodies of every route's shape are read in one helper
type Json = any;

interface Reply<T = Json> {
  status: number;
  text: string;
  body: T;
}

interface Issue {
  loc: string[];
  msg: string;
  type: string;
}

describe.each(STORES)('spec shapes (%s)', (store) => {
  let hg: TestHookgate;
  let receiver: Receiver;
  let appId: string;
  let endpointId: string;
  let sourceId: string;
  let sourceAppId: string;

  async function call<T = Json>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${token ?? hg.adminToken}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${hg.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, body: text ? JSON.parse(text) : null };
  }

  /** Svix's HTTPValidationError (`detail: [{loc, msg, type}]`) with Hookgate's code beside it. */
  function expectValidation(reply: Reply, code: string, loc: string[]): void {
    expect(reply.status, reply.text).toBe(422);
    expect(reply.body.code).toBe(code);
    expect(Array.isArray(reply.body.detail), reply.text).toBe(true);
    for (const issue of reply.body.detail as Issue[]) {
      expect(issue).toEqual({ loc: expect.any(Array), msg: expect.any(String), type: expect.any(String) });
      expect(issue.msg).not.toBe('');
    }
    expect((reply.body.detail as Issue[]).map((i) => i.loc)).toContainEqual(loc);
  }

  async function publish(payload: Record<string, unknown>, eventType = 'shape.test'): Promise<string> {
    const r = await call('POST', `/api/v1/app/${appId}/msg`, { eventType, payload });
    expect(r.status, r.text).toBe(202);
    return r.body.id;
  }

  beforeAll(async () => {
    hg = await startTestHookgate({ store });
    receiver = await startReceiver(() => ({ status: 500, body: 'receiver says: card 4242 declined' }));
    appId = (await call('POST', '/api/v1/app', { name: 'Shapes' })).body.id;
    endpointId = (await call('POST', `/api/v1/app/${appId}/endpoint`, { url: receiver.url })).body.id;
    const source = await call('POST', '/ingest/api/v1/source', { name: 'shapes', type: 'generic-webhook' });
    expect(source.status, source.text).toBe(201);
    sourceId = source.body.id;
    sourceAppId = (await call('GET', `/api/v1/app/${sourceId}`)).body.id;
    const et = await call('POST', '/api/v1/event-type', {
      name: 'shape.test',
      description: 'with a schema',
      schemas: {
        '1': { type: 'object', examples: [{ old: true }] },
        '2': { type: 'object', examples: [{ hello: 'world' }] },
      },
    });
    expect(et.status, et.text).toBe(201);
  });

  afterAll(async () => {
    await receiver?.close();
    await hg?.destroy();
  });

  describe('422 bodies', () => {
    it('answers a domain check (URL, source type, header, secret) with a detail list, not a sentence', async () => {
      expectValidation(
        await call('POST', `/api/v1/app/${appId}/endpoint`, { url: 'not a url' }),
        'invalid_url',
        ['body', 'url'],
      );
      expectValidation(
        await call('POST', `/api/v1/app/${appId}/endpoint`, { url: 'http://10.1.2.3/hook' }),
        'url_not_allowed',
        ['body', 'url'],
      );
      expectValidation(
        await call('POST', `/ingest/api/v1/source/${sourceId}/endpoint`, { url: 'ftp://example.com/' }),
        'invalid_url',
        ['body', 'url'],
      );
      expectValidation(
        await call('POST', '/ingest/api/v1/source', { name: 'nope', type: 'no-such-provider' }),
        'unsupported_source_type',
        ['body', 'type'],
      );
      expectValidation(
        await call('POST', '/ingest/api/v1/source', { name: 'nope', type: 'stripe' }),
        'missing_source_secret',
        ['body', 'config', 'secret'],
      );
      expectValidation(
        await call('PUT', `/api/v1/app/${appId}/endpoint/${endpointId}/headers`, {
          headers: { 'webhook-id': 'forged' },
        }),
        'reserved_header',
        ['body', 'headers', 'webhook-id'],
      );
      expectValidation(
        await call('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/secret/rotate`, {
          key: `whsec_${Buffer.alloc(23, 7).toString('base64')}`,
        }),
        'invalid_secret',
        ['body', 'key'],
      );
      expectValidation(
        await call('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/recover`, {
          since: '2024-01-02T00:00:00Z',
          until: '2024-01-01T00:00:00Z',
        }),
        'validation',
        ['body', 'until'],
      );
    });

    it('documents every 422 in /openapi.json as a detail list', async () => {
      const doc = (await call('GET', '/openapi.json')).body;
      let seen = 0;
      for (const [path, ops] of Object.entries<Record<string, Json>>(doc.paths)) {
        for (const [method, op] of Object.entries<Json>(ops)) {
          const schema = op.responses?.['422']?.content?.['application/json']?.schema;
          if (!schema) continue;
          seen++;
          expect(schema.properties?.detail?.type, `${method} ${path}`).toBe('array');
          expect(schema.properties.detail.items.required).toEqual(['loc', 'msg', 'type']);
        }
      }
      expect(seen).toBeGreaterThan(40);
    });
  });

  describe('ids', () => {
    it('gives ingest endpoints ids of the ingest spec pattern ^ep_[A-Za-z0-9]{27}$', async () => {
      const r = await call('POST', `/ingest/api/v1/source/${sourceId}/endpoint`, { url: receiver.url });
      expect(r.status, r.text).toBe(201);
      expect(r.body.id).toMatch(/^ep_[A-Za-z0-9]{27}$/);
      expect((await call('GET', `/ingest/api/v1/source/${sourceId}/endpoint/${r.body.id}`)).status).toBe(200);
    });

    it('gives request-log ids the pattern ^log[A-Za-z0-9]{21,22}$ and still finds one by its old spelling', async () => {
      const { ingestUrl } = (await call('GET', `/ingest/api/v1/source/${sourceId}`)).body;
      const sent = await fetch(ingestUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'shape.inbound' }),
      });
      expect(sent.status).toBeLessThan(300);
      const log = (await call('GET', `/ingest/api/v1/source/${sourceId}/log`)).body.data[0];
      expect(log.id).toMatch(/^log[A-Za-z0-9]{21,22}$/);
      const old = `log_${log.id.slice(3)}`;
      const byOld = await call('GET', `/ingest/api/v1/source/${sourceId}/log/${old}`);
      expect(byOld.status, byOld.text).toBe(200);
      expect(byOld.body.id).toBe(log.id);
      const page = await call('GET', `/ingest/api/v1/source/${sourceId}/log?iterator=${old}`);
      expect(page.status, page.text).toBe(200);
    });
  });

  describe('with_content=false', () => {
    it('leaves schemas out of event types, listed and read', async () => {
      const full = await call('GET', '/api/v1/event-type?with_content=true');
      expect(full.body.data.find((e: Json) => e.name === 'shape.test').schemas).toBeTruthy();
      const lean = await call('GET', '/api/v1/event-type?with_content=false');
      expect(lean.status, lean.text).toBe(200);
      const listed = lean.body.data.find((e: Json) => e.name === 'shape.test');
      expect(listed).toBeDefined();
      expect(listed).not.toHaveProperty('schemas');
      const one = await call('GET', '/api/v1/event-type/shape.test?with_content=false');
      expect(one.status, one.text).toBe(200);
      expect(one.body).not.toHaveProperty('schemas');
      expect((await call('GET', '/api/v1/event-type/shape.test')).body.schemas).toBeTruthy();
    });

    it('leaves the response out of attempts on every attempt list and get route', async () => {
      const msgId = await publish({ n: 1 });
      const attempt = await eventually(async () => {
        const r = await call('GET', `/api/v1/app/${appId}/attempt/msg/${msgId}`);
        return r.body.data[0];
      });
      expect(attempt.response).toContain('4242');
      for (const path of [
        `/api/v1/app/${appId}/attempt/msg/${msgId}?with_content=false`,
        `/api/v1/app/${appId}/attempt/endpoint/${endpointId}?with_content=false`,
      ]) {
        const r = await call('GET', path);
        expect(r.status, r.text).toBe(200);
        expect(r.body.data.length).toBeGreaterThan(0);
        for (const a of r.body.data) expect(a).not.toHaveProperty('response');
      }
      const one = await call(
        'GET',
        `/api/v1/app/${appId}/msg/${msgId}/attempt/${attempt.id}?with_content=false`,
      );
      expect(one.status, one.text).toBe(200);
      expect(one.body).not.toHaveProperty('response');
      expect(one.body.id).toBe(attempt.id);
    });
  });

  describe('list parameters', () => {
    const serverLists = () => [
      '/api/v1/app',
      '/api/v1/event-type',
      `/api/v1/app/${appId}/endpoint`,
      `/api/v1/app/${appId}/msg`,
      `/api/v1/app/${appId}/attempt/endpoint/${endpointId}`,
      `/api/v1/app/${appId}/endpoint/${endpointId}/msg`,
    ];
    const ingestLists = () => [
      '/ingest/api/v1/source',
      `/ingest/api/v1/source/${sourceId}/endpoint`,
      `/ingest/api/v1/source/${sourceId}/log`,
    ];

    it('answers limit=0 with an empty page where the server spec allows it (minimum 0)', async () => {
      await publish({ n: 2 });
      for (const path of serverLists()) {
        const r = await call('GET', `${path}?limit=0`);
        expect(r.status, `${path}: ${r.text}`).toBe(200);
        expect(r.body.data).toEqual([]);
      }
    });

    it('refuses limit=0 on Svix Ingest lists, whose spec minimum is 1', async () => {
      for (const path of ingestLists()) {
        expectValidation(await call('GET', `${path}?limit=0`), 'validation', ['query', 'limit']);
      }
    });

    it('refuses a malformed iterator with 422 on every list, and follows a real one', async () => {
      const msgId = await publish({ n: 3 });
      const all = [
        ...serverLists(),
        ...ingestLists(),
        `/api/v1/app/${appId}/attempt/msg/${msgId}`,
        `/api/v1/app/${appId}/msg/${msgId}/endpoint`,
        '/api/v1/operational-webhook/endpoint',
      ];
      for (const path of all) {
        // Event types are listed by name: `app_x` is a name there, not a malformed iterator.
        const bad = ['garbage!', '-not an id', 'src_0358AhE5LYZ4Nz3Aroupio;drop', 'msg_%00'];
        if (!path.includes('event-type')) bad.push('app_x', 'ep_short');
        for (const iterator of bad) {
          expectValidation(
            await call('GET', `${path}?iterator=${encodeURIComponent(iterator)}`),
            'validation',
            ['query', 'iterator'],
          );
        }
        const first = await call('GET', `${path}?limit=1`);
        expect(first.status, `${path}: ${first.text}`).toBe(200);
        if (first.body.iterator) {
          for (const it of [first.body.iterator, first.body.prevIterator].filter(Boolean)) {
            const next = await call('GET', `${path}?limit=1&iterator=${encodeURIComponent(it)}`);
            expect(next.status, `${path} iterator ${it}: ${next.text}`).toBe(200);
          }
        }
      }
    });
  });

  describe('content expunge', () => {
    it('removes a message payload for good: it reads {}, still lists, and cannot be resent', async () => {
      const msgId = await publish({ card: '4242 4242 4242 4242' });
      const portal = (await call('POST', `/api/v1/auth/app-portal-access/${appId}`, {})).body.token;
      expect(
        (await call('DELETE', `/api/v1/app/${appId}/msg/${msgId}/content`, undefined, portal)).status,
      ).toBe(403);
      const r = await call('DELETE', `/api/v1/app/${appId}/msg/${msgId}/content`);
      expect(r.status, r.text).toBe(204);
      const got = await call('GET', `/api/v1/app/${appId}/msg/${msgId}`);
      expect(got.status).toBe(200);
      expect(got.body.payload).toEqual({});
      const listed = await call('GET', `/api/v1/app/${appId}/msg?limit=250`);
      expect(listed.body.data.find((m: Json) => m.id === msgId)?.payload).toEqual({});
      expect(listed.text).not.toContain('4242 4242');
      const resend = await call('POST', `/api/v1/app/${appId}/msg/${msgId}/endpoint/${endpointId}/resend`);
      expect(resend.status, resend.text).toBe(400);
      expect(resend.body.code).toBe('missing_payload');
      expect(
        (await call('DELETE', `/api/v1/app/${appId}/msg/msg_0000000000000000000000/content`)).status,
      ).toBe(404);
    });

    it("replaces an attempt's response body with EXPUNGED and keeps the attempt", async () => {
      const msgId = await publish({ n: 4 });
      const attempt = await eventually(
        async () => (await call('GET', `/api/v1/app/${appId}/attempt/msg/${msgId}`)).body.data[0],
      );
      const path = `/api/v1/app/${appId}/msg/${msgId}/attempt/${attempt.id}`;
      const r = await call('DELETE', `${path}/content`);
      expect(r.status, r.text).toBe(204);
      const got = await call('GET', path);
      expect(got.body).toMatchObject({ id: attempt.id, response: 'EXPUNGED' });
      const listed = await call('GET', `/api/v1/app/${appId}/attempt/msg/${msgId}`);
      expect(listed.body.data.find((a: Json) => a.id === attempt.id).response).toBe('EXPUNGED');
      expect(
        (
          await call(
            'DELETE',
            `/api/v1/app/${appId}/msg/${msgId}/attempt/atmpt_0000000000000000000000/content`,
          )
        ).status,
      ).toBe(404);
    });
  });

  describe('send-example', () => {
    it("sends the event type's newest example to that endpoint only", async () => {
      const ok = await startReceiver();
      try {
        const target = (await call('POST', `/api/v1/app/${appId}/endpoint`, { url: ok.url })).body.id;
        const r = await call('POST', `/api/v1/app/${appId}/endpoint/${target}/send-example`, {
          eventType: 'shape.test',
        });
        expect(r.status, r.text).toBe(200);
        expect(r.body).toMatchObject({ eventType: 'shape.test', payload: { hello: 'world' } });
        const [received] = await ok.waitFor(1);
        expect(JSON.parse(received!.body)).toEqual({ hello: 'world' });
        const destinations = await call('GET', `/api/v1/app/${appId}/msg/${r.body.id}/endpoint`);
        expect(destinations.body.data.map((d: Json) => d.id)).toEqual([target]);
      } finally {
        await ok.close();
      }
    });

    it('answers 404 to an unknown event type and 422 to a missing one', async () => {
      const path = `/api/v1/app/${appId}/endpoint/${endpointId}/send-example`;
      const unknown = await call('POST', path, { eventType: 'no.such.type' });
      expect(unknown.status, unknown.text).toBe(404);
      expect(unknown.body.code).toBe('event_type_not_found');
      expectValidation(await call('POST', path, {}), 'validation', ['body', 'eventType']);
    });
  });

  describe('ingest source dashboard and transformations', () => {
    it("gives a token scoped to the source's application", async () => {
      const r = await call('POST', `/ingest/api/v1/source/${sourceId}/dashboard`, { readOnly: false });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ url: expect.stringContaining(sourceAppId), token: expect.any(String) });
      const token = r.body.token;
      expect((await call('GET', `/api/v1/app/${sourceAppId}/endpoint`, undefined, token)).status).toBe(200);
      expect((await call('GET', `/api/v1/app/${appId}/endpoint`, undefined, token)).status).toBe(404);
      expect((await call('GET', '/ingest/api/v1/source', undefined, token)).status).toBe(403);
      expect((await call('POST', '/ingest/api/v1/source/src_missing/dashboard', {})).status).toBe(404);
    });

    it('answers 501 not_supported to transformation get and patch', async () => {
      const ep = (await call('POST', `/ingest/api/v1/source/${sourceId}/endpoint`, { url: receiver.url }))
        .body.id;
      const path = `/ingest/api/v1/source/${sourceId}/endpoint/${ep}/transformation`;
      for (const r of [await call('GET', path), await call('PATCH', path, { enabled: true })]) {
        expect(r.status, r.text).toBe(501);
        expect(r.body).toEqual({ code: 'not_supported', detail: expect.any(String) });
      }
    });

    it('lists every new operation in /openapi.json', async () => {
      const paths = (await call('GET', '/openapi.json')).body.paths;
      expect(paths['/api/v1/app/{app_id}/msg/{msg_id}/content']).toHaveProperty('delete');
      expect(paths['/api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}/content']).toHaveProperty(
        'delete',
      );
      expect(paths['/api/v1/app/{app_id}/endpoint/{endpoint_id}/send-example']).toHaveProperty('post');
      expect(paths['/ingest/api/v1/source/{source_id}/dashboard']).toHaveProperty('post');
      const transformation = paths['/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}/transformation'];
      expect(transformation).toHaveProperty('get');
      expect(transformation).toHaveProperty('patch');
    });
  });
});
