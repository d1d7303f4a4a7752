import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/**
 * Authorisation belongs to the matched route, not to the spelling of its path. The router
 * decodes percent-encoding (`/%69ngest/…` is `/ingest/…`), so every route of the OpenAPI
 * document is called in many spellings with every kind of token, with real ids so that a
 * bypass would succeed: no spelling may ever do better than the canonical path does.
 */

interface Reply {
  status: number;
  code: string | null;
}

interface Spelling {
  label: string;
  path: string;
  /** Whether the router decodes it to the canonical path (so it must reach the same route). */
  decodesToSame: boolean;
}

interface Route {
  method: string;
  template: string;
}

/** Real records the path templates are filled in with. */
interface Ids {
  app: string;
  endpoint: string;
  msg: string;
  attempt: string;
  eventType: string;
  source: string;
  sourceToken: string;
  ingestEndpoint: string;
  log: string;
  operationalEndpoint: string;
}

type TokenKind = 'none' | 'admin' | 'appA' | 'readOnlyA' | 'appB';

/** One walk: a token, and whose records the paths name. */
interface Run {
  label: string;
  token: TokenKind;
  ids: 'A' | 'B';
}

/**
 * In this order: walks that must change nothing first, then the ones allowed to delete
 * (app A's token deletes A's records, the admin deletes anything).
 */
const RUNS: Run[] = [
  { label: 'no token', token: 'none', ids: 'A' },
  { label: "app B's token on app A's records", token: 'appB', ids: 'A' },
  { label: "app A's read-only token on its own records", token: 'readOnlyA', ids: 'A' },
  { label: "app A's token on app B's records", token: 'appA', ids: 'B' },
  { label: "app A's token on its own records", token: 'appA', ids: 'A' },
  { label: 'the admin token', token: 'admin', ids: 'A' },
];

/**
 * Routes only the operator may call (no app token, whatever its app): sources, operational
 * webhooks, and expunging content (Svix: the organisation's token only).
 */
const OPERATOR_ONLY = (template: string) =>
  template.startsWith('/ingest/') ||
  template.startsWith('/api/v1/operational-webhook/') ||
  template.endsWith('/content');

const hex = (ch: string, upper = false) => {
  const h = ch.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${upper ? h.toUpperCase() : h}`;
};
const encodeAll = (segment: string, upper: boolean) => [...segment].map((c) => hex(c, upper)).join('');

/**
 * The same path written in ways a router or a proxy might read as the same resource. Only the
 * fixed segments are double-encoded (a double-encoded id is merely another, invalid id).
 */
function spellings(template: string, path: string): Spelling[] {
  const segments = path.split('/').slice(1);
  const fixed = template
    .split('/')
    .slice(1)
    .map((s) => !s.startsWith('{'));
  const join = (segs: string[]) => `/${segs.join('/')}`;
  const out: Spelling[] = [];
  segments.forEach((segment, i) => {
    const first = segment[0]!;
    const rest = segment.slice(1);
    const at = (s: string) => join(segments.map((x, j) => (j === i ? s : x)));
    out.push({
      label: `segment ${i} first letter encoded`,
      path: at(hex(first) + rest),
      decodesToSame: true,
    });
    if (fixed[i])
      out.push({
        label: `segment ${i} first letter double-encoded`,
        path: at(`%25${hex(first).slice(1)}${rest}`),
        decodesToSame: false,
      });
  });
  const [head, ...tail] = segments;
  out.push(
    {
      label: 'every letter encoded, upper-case hex',
      path: join(segments.map((s) => encodeAll(s, true))),
      decodesToSame: true,
    },
    {
      label: 'every letter encoded, lower-case hex',
      path: join(segments.map((s) => encodeAll(s, false))),
      decodesToSame: true,
    },
    { label: 'leading doubled slash', path: `/${path}`, decodesToSame: false },
    { label: 'every slash doubled', path: path.replaceAll('/', '//'), decodesToSame: false },
    { label: 'dot segment', path: join([head!, '.', ...tail]), decodesToSame: false },
    { label: 'dot-dot segment', path: join([head!, 'x', '..', ...tail]), decodesToSame: false },
    { label: 'encoded dot segment', path: join([head!, '%2e', ...tail]), decodesToSame: false },
    { label: 'encoded dot-dot segment', path: join([head!, 'x', '%2E%2e', ...tail]), decodesToSame: false },
    { label: 'trailing slash', path: `${path}/`, decodesToSame: false },
    { label: 'encoded slash', path: `/${head}%2F${tail.join('/')}`, decodesToSame: false },
    { label: 'semicolon parameter', path: `/${head};x/${tail.join('/')}`, decodesToSame: false },
  );
  return out;
}

describe.each(STORES)('route authorisation whatever the spelling of the path (%s)', (store) => {
  let hg: TestHookgate;
  let receiver: Receiver;
  let routes: Route[];
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const tokens: Record<TokenKind, string | null> = {
    none: null,
    admin: null,
    appA: null,
    readOnlyA: null,
    appB: null,
  };
  const ids: Record<'A' | 'B', Ids> = {} as never;

  /** A raw request: the path goes on the wire exactly as written (fetch would normalise it). */
  function send(method: string, path: string, token: string | null, body?: unknown): Promise<Reply> {
    const { hostname, port } = new URL(hg.url);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (payload !== undefined) headers['content-type'] = 'application/json';
    return new Promise((resolve, reject) => {
      const req = request({ agent, hostname, port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let code: string | null = null;
          try {
            code = (JSON.parse(text) as { code?: string }).code ?? null;
          } catch {}
          resolve({ status: res.statusCode ?? 0, code });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${hg.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${hg.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** Bodies that pass validation, so that a bypassed check would change something. */
  function bodyFor(route: Route): unknown {
    if (!['POST', 'PUT', 'PATCH'].includes(route.method)) return undefined;
    const endpoint = { url: receiver.url };
    const headers = { headers: { 'X-Spelled': '1' } };
    const source = { name: 'spelled', type: 'generic-webhook' };
    const bodies: Record<string, unknown> = {
      'POST /api/v1/app': { name: 'spelled' },
      'PUT /api/v1/app/{app_id}': { name: 'spelled' },
      'POST /api/v1/event-type': { name: 'spelled.event', description: 'made through a spelling' },
      'PUT /api/v1/event-type/{event_type_name}': { description: 'changed through a spelling' },
      'POST /api/v1/app/{app_id}/endpoint': endpoint,
      'PUT /api/v1/app/{app_id}/endpoint/{endpoint_id}': endpoint,
      'PUT /api/v1/app/{app_id}/endpoint/{endpoint_id}/headers': headers,
      'PATCH /api/v1/app/{app_id}/endpoint/{endpoint_id}/headers': headers,
      'POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/recover': {
        since: new Date(Date.now() - 3600_000).toISOString(),
      },
      'POST /api/v1/app/{app_id}/msg': { eventType: 'spelled.event', payload: { spelled: true } },
      'POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/send-example': { eventType: 'spelled.event' },
      'POST /ingest/api/v1/source': source,
      'PUT /ingest/api/v1/source/{source_id}': source,
      'POST /ingest/api/v1/source/{source_id}/endpoint': endpoint,
      'PUT /ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}': endpoint,
      'PUT /ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}/headers': headers,
      'POST /api/v1/operational-webhook/endpoint': endpoint,
      'PUT /api/v1/operational-webhook/endpoint/{endpoint_id}': endpoint,
      'PUT /api/v1/operational-webhook/endpoint/{endpoint_id}/headers': headers,
    };
    return bodies[`${route.method} ${route.template}`] ?? {};
  }

  function fill(template: string, r: Ids): string {
    const ingest = template.startsWith('/ingest/');
    const operational = template.startsWith('/api/v1/operational-webhook/');
    const values: Record<string, string> = {
      app_id: r.app,
      endpoint_id: ingest ? r.ingestEndpoint : operational ? r.operationalEndpoint : r.endpoint,
      msg_id: r.msg,
      attempt_id: r.attempt,
      event_type_name: r.eventType,
      source_id: r.source,
      token: r.sourceToken,
      log_id: r.log,
    };
    return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const value = values[name];
      if (!value) throw new Error(`no value for {${name}} in ${template}`);
      return value;
    });
  }

  beforeAll(async () => {
    hg = await startTestHookgate({ store });
    receiver = await startReceiver();
    tokens.admin = hg.adminToken;
    const doc = (await (await fetch(`${hg.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const all = Object.entries(doc.paths).flatMap(([template, ops]) =>
      Object.keys(ops).map((method) => ({ method: method.toUpperCase(), template })),
    );
    // Deletions last, the deepest first, so each walk reaches every other route with its records.
    const depth = (r: Route) => r.template.split('/').length;
    routes = [
      ...all.filter((r) => r.method !== 'DELETE'),
      ...all.filter((r) => r.method === 'DELETE').sort((a, b) => depth(b) - depth(a)),
    ];

    for (const name of ['A', 'B'] as const) {
      const app = await admin<{ id: string }>('POST', '/api/v1/app', { name: `Tenant ${name}` });
      const endpoint = await admin<{ id: string }>('POST', `/api/v1/app/${app.id}/endpoint`, {
        url: receiver.url,
      });
      const msg = await admin<{ id: string }>('POST', `/api/v1/app/${app.id}/msg`, {
        eventType: 'invoice.paid',
        payload: { tenant: name },
      });
      const attempt = await eventually(async () => {
        const list = await admin<{ data: Array<{ id: string }> }>(
          'GET',
          `/api/v1/app/${app.id}/attempt/msg/${msg.id}`,
        );
        return list.data[0]?.id ?? null;
      });
      ids[name] = { app: app.id, endpoint: endpoint.id, msg: msg.id, attempt } as Ids;
    }
    // Operator records: shared by both walks (they belong to no app).
    const eventType = await admin<{ name: string }>('POST', '/api/v1/event-type', {
      name: 'invoice.paid',
      description: 'x',
    });
    const source = await admin<{ id: string; ingestUrl: string }>('POST', '/ingest/api/v1/source', {
      name: 'provider',
      type: 'generic-webhook',
    });
    const ingestEndpoint = await admin<{ id: string }>(
      'POST',
      `/ingest/api/v1/source/${source.id}/endpoint`,
      {
        url: receiver.url,
      },
    );
    const inbound = await fetch(source.ingestUrl, { method: 'POST', body: '{"type":"thing.happened"}' });
    expect(inbound.status).toBe(200);
    const log = await admin<{ data: Array<{ id: string }> }>('GET', `/ingest/api/v1/source/${source.id}/log`);
    const operational = await admin<{ id: string }>('POST', '/api/v1/operational-webhook/endpoint', {
      url: receiver.url,
    });
    const shared = {
      eventType: eventType.name,
      source: source.id,
      sourceToken: source.ingestUrl.split('/').pop()!,
      ingestEndpoint: ingestEndpoint.id,
      log: log.data[0]!.id,
      operationalEndpoint: operational.id,
    };
    for (const name of ['A', 'B'] as const) ids[name] = { ...ids[name], ...shared };

    const portal = (app: string, readOnly: boolean) =>
      admin<{ token: string }>('POST', `/api/v1/auth/app-portal-access/${app}`, { readOnly });
    tokens.appA = (await portal(ids.A.app, false)).token;
    tokens.readOnlyA = (await portal(ids.A.app, true)).token;
    tokens.appB = (await portal(ids.B.app, false)).token;
  }, 60_000);

  afterAll(async () => {
    agent.destroy();
    await hg?.destroy();
    await receiver?.close();
  });

  it('walks the whole API', () => {
    expect(routes.length).toBeGreaterThan(50);
    expect(routes.some((r) => r.template.startsWith('/ingest/'))).toBe(true);
    expect(routes.some((r) => r.template.startsWith('/api/v1/operational-webhook/'))).toBe(true);
  });

  it.each(RUNS)(
    'never lets a spelling do better than the canonical path, with $label',
    async (run) => {
      const token = tokens[run.token];
      const isApp = run.token === 'appA' || run.token === 'readOnlyA' || run.token === 'appB';
      const foreignApp = run.token === 'appB' || (run.token === 'appA' && run.ids === 'B');
      // What a path no route matches answers this caller: it must authenticate first.
      const unrouted: Reply = token
        ? { status: 404, code: 'not_found' }
        : { status: 401, code: 'unauthorized' };
      const failures: string[] = [];
      for (const route of routes) {
        // Logging out an app token would end this walk; logout has tests of its own.
        if (isApp && route.template === '/api/v1/auth/logout') continue;
        const path = fill(route.template, ids[run.ids]);
        const body = bodyFor(route);
        const canonical = await send(route.method, path, token, body);
        const spelled = await Promise.all(
          spellings(route.template, path).map(async (s) => ({
            ...s,
            reply: await send(route.method, s.path, token, body),
          })),
        );
        const fail = (label: string, reply: Reply, why: string) =>
          failures.push(
            `${route.method} ${route.template} [${label}] -> ${reply.status} ${reply.code} (canonical ${canonical.status} ${canonical.code}): ${why}`,
          );
        if (OPERATOR_ONLY(route.template) && isApp && canonical.status !== 403)
          fail('canonical', canonical, 'an app token must be refused 403 on operator routes');
        // Another app's records, named in the path: they must look missing, in every spelling.
        const foreign =
          foreignApp && route.template.startsWith('/api/v1/app/{app_id}') && !OPERATOR_ONLY(route.template);
        if (foreign && canonical.status !== 404)
          fail('canonical', canonical, "another app's records must look missing");
        for (const { label, reply, path: spelledPath, decodesToSame } of spelled) {
          const ok2xx = reply.status >= 200 && reply.status < 300;
          if (canonical.status >= 300) {
            // Nothing happened on the canonical path, so nothing may happen on another spelling:
            // it answers the same, or it reaches no route at all, or (past authorisation) it names
            // another, invalid record (`…/log/` routes to `…/log/{log_id}` with an empty id).
            const same = reply.status === canonical.status && reply.code === canonical.code;
            const none = reply.status === unrouted.status && reply.code === unrouted.code;
            const refusal = canonical.status === 401 || canonical.status === 403;
            const invalid = !refusal && reply.code === 'validation';
            if (ok2xx || !(same || none || invalid))
              fail(`${label}: ${spelledPath}`, reply, 'differs from the canonical refusal');
          }
          if (OPERATOR_ONLY(route.template) && isApp) {
            const expected = decodesToSame ? [403] : [403, unrouted.status];
            if (!expected.includes(reply.status))
              fail(`${label}: ${spelledPath}`, reply, 'an app token must never reach an operator route');
          }
          if (foreign && ok2xx) fail(`${label}: ${spelledPath}`, reply, "reached another app's records");
        }
      }
      expect(failures).toEqual([]);
    },
    300_000,
  );

  it('answers a path no route matches 401 without a token and 404 with one', async () => {
    for (const path of ['/nowhere', '/in/', '/in/x', '/api/v1/app/x/nothing', '/%69ngest/nothing']) {
      expect([path, await send('GET', path, null)]).toEqual([path, { status: 401, code: 'unauthorized' }]);
      for (const token of [tokens.admin, tokens.appB])
        expect([path, await send('GET', path, token)]).toEqual([path, { status: 404, code: 'not_found' }]);
    }
  });

  it('serves the public routes in their encoded spellings without a token, and nothing else', async () => {
    expect((await send('GET', '/api/v1/%68ealth', null)).status).toBe(204);
    expect((await send('GET', '/%6Fpenapi.json', null)).status).toBe(200);
    for (const path of [
      '/in/../api/v1/app',
      '/in/x/../../api/v1/app',
      '/in/%2e%2e/api/v1/app',
      '/api/v1/health/../app',
    ])
      expect([path, (await send('GET', path, null)).status]).toEqual([path, 401]);
  });
});
