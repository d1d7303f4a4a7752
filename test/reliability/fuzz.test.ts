/**
 * Property-based fuzzing of request bodies, path ids and list queries (fast-check). Two
 * properties, for every generated request: the answer is never a 5xx, and a 4xx changes no stored
 * data (a snapshot of the lists the request could touch is the same before and after).
 * Bodies mix near-valid objects (each field either plausible or hostile) with arbitrary JSON
 * and malformed text, so validation, domain checks and the store are all reached.
 * The dispatcher is stopped first: no background delivery changes data between snapshots.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/domain/signing.js';
import { STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';

const RUNS = 100;

let hg: TestHookgate;
let appId: string;
let endpointId: string;
let opsEndpointId: string;
const EVENT_TYPE = 'fuzz.event';

interface Answer {
  status: number;
  body: string;
}

async function request(method: string, url: string, payload?: string, contentType = 'application/json') {
  const res = await hg.api!.inject({
    method: method as 'GET',
    url,
    headers: {
      authorization: `Bearer ${hg.adminToken}`,
      ...(payload === undefined ? {} : { 'content-type': contentType }),
    },
    ...(payload === undefined ? {} : { payload }),
  });
  return { status: res.statusCode, body: res.body } satisfies Answer;
}

/** Everything a fuzzed request could change, as one comparable string. */
async function snapshot(): Promise<string> {
  const a = `/api/v1/app/${appId}`;
  const e = `${a}/endpoint/${endpointId}`;
  const parts = await Promise.all(
    [
      '/api/v1/app?limit=250&order=descending',
      `${a}`,
      `${a}/endpoint?limit=250&order=descending`,
      `${e}/headers`,
      `${e}/secret`,
      `${e}/stats`,
      `${a}/msg?limit=250`,
      '/api/v1/event-type?limit=250&include_archived=true&order=descending',
      '/api/v1/operational-webhook/endpoint?limit=250&order=descending',
      `/api/v1/operational-webhook/endpoint/${opsEndpointId}/headers`,
    ].map(async (url) => {
      const res = await request('GET', url);
      return `${url} ${res.status} ${res.body}`;
    }),
  );
  return parts.join('\n');
}

// ---- arbitraries

const identifier = fc.stringMatching(/^[a-zA-Z0-9_.-]{1,24}$/);
const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '__proto__',
    'constructor',
    'a\r\nx-injected: 1',
    '\u0000',
    '../../etc',
    '%00',
    'ß'.repeat(300),
  ),
  fc.constant('x'.repeat(70_000)),
);
/** Anything at all where a field is expected. */
const hostile = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, 2 ** 31, 2 ** 53 + 1, 1e308, -0),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 5 }),
  fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())),
);
/**
 * Bodies shaped like `spec`: every field plausible (required ones present), so domain checks and
 * the store are reached; one field hostile; or any subset of fields, each plausible or hostile.
 */
const shaped = (spec: Record<string, fc.Arbitrary<unknown>>, required: string[] = []) => {
  const plausible = fc.record(spec, { requiredKeys: required });
  const oneHostile = fc
    .tuple(plausible, fc.constantFrom(...Object.keys(spec)), hostile)
    .map(([body, key, value]) => ({ ...body, [key]: value }));
  const mixed = fc.record(
    Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, fc.oneof(v, hostile)])),
    {
      requiredKeys: [],
    },
  );
  return fc.oneof(plausible, oneHostile, mixed);
};
/** Uids, some of them already taken by the fixtures. */
const uid = fc.oneof(identifier, fc.constantFrom('fuzz-app', 'fuzz-ep', 'taken'));

const url = fc.oneof(
  fc.constantFrom(
    'http://127.0.0.1:9/hook',
    'https://example.com/hook',
    'http://10.0.0.1/x',
    'http://169.254.169.254/latest',
    'http://[::1]:9/',
    'http://0x7f000001/',
    'ftp://example.com/',
    'javascript:alert(1)',
    'http://',
  ),
  fc.webUrl(),
);
const metadata = fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 3 });
const rateLimit = fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.constant(null));
const names = fc.array(identifier, { maxLength: 7 });
const secret = fc.oneof(
  fc.constant(null),
  fc.constant(generateSecret()),
  fc.stringMatching(/^(whsec_)?[a-zA-Z0-9+/=]{20,110}$/),
);
const headers = fc.dictionary(
  fc.oneof(identifier, fc.constantFrom('webhook-id', 'Content-Length', 'host', 'bad name', 'x-ok\r\n')),
  fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('a\r\nb', 'ok')),
  { maxKeys: 4 },
);
const isoTime = fc
  .date({ min: new Date('1969-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
  .map((d) => d.toISOString());
const time = fc.oneof(isoTime, fc.constantFrom('2024-13-45T99:99:99Z', 'yesterday', '0'));

const appBody = shaped(
  { name: fc.string({ maxLength: 300 }), uid, metadata, rateLimit, throttleRate: rateLimit },
  ['name'],
);
const endpointBody = shaped(
  {
    url,
    uid,
    description: fc.string({ maxLength: 50 }),
    disabled: fc.boolean(),
    filterTypes: names,
    eventTypes: names,
    channels: names,
    metadata,
    rateLimit,
    throttleRate: rateLimit,
    secret,
    headers,
    version: fc.integer(),
  },
  ['url'],
);
const messageBody = shaped(
  {
    eventType: fc.oneof(fc.constant(EVENT_TYPE), identifier),
    eventId: fc.oneof(identifier, fc.constant('taken')),
    payload: fc.oneof(fc.object({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 })),
    channels: names,
    tags: names,
    deliverAt: time,
    payloadRetentionPeriod: fc.integer(),
    application: appBody,
  },
  ['eventType', 'payload'],
);
const eventTypeBody = shaped(
  {
    name: fc.oneof(identifier, fc.constant(EVENT_TYPE)),
    description: fc.string({ maxLength: 50 }),
    archived: fc.boolean(),
    deprecated: fc.boolean(),
    featureFlag: identifier,
    schemas: fc.dictionary(fc.constantFrom('1', '2'), fc.object({ maxDepth: 2 })),
  },
  ['name', 'description'],
);

/** A body as sent: the generated value as JSON, arbitrary JSON, or text that is not JSON. */
const sent = (body: fc.Arbitrary<unknown>) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: body.map((b) => ({ payload: JSON.stringify(b), contentType: 'application/json' })),
    },
    {
      weight: 1,
      arbitrary: fc.jsonValue().map((b) => ({ payload: JSON.stringify(b), contentType: 'application/json' })),
    },
    { weight: 1, arbitrary: fc.string().map((s) => ({ payload: s, contentType: 'application/json' })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.string(),
          fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded'),
        )
        .map(([s, t]) => ({ payload: s, contentType: t })),
    },
  );

const LIST_PARAMS = [
  'limit',
  'iterator',
  'order',
  'event_types',
  'channel',
  'tag',
  'before',
  'after',
  'status',
  'status_code_class',
  'with_content',
  'include_archived',
  'endpoint_id',
];
const queryValue = fc.oneof(
  fc.integer({ min: -5, max: 300 }).map(String),
  fc.constantFrom(
    'ascending',
    'descending',
    'true',
    'false',
    '',
    'null',
    '-',
    '-abc',
    'msg_0000000000000000000000',
  ),
  isoTime,
  identifier,
  fc.string({ maxLength: 30 }),
  fc.constant('x'.repeat(400)),
);
const query = fc
  .array(fc.tuple(fc.constantFrom(...LIST_PARAMS), queryValue), { maxLength: 6 })
  .map((pairs) => new URLSearchParams(pairs).toString());

// ---- the properties

/** How the fuzzed requests were answered: status and error code -> count (printed at the end). */
const tally = new Map<string, number>();
function count(res: Answer): void {
  let key = String(res.status);
  if (res.status >= 400) key += ` ${(JSON.parse(res.body) as { code?: string }).code}`;
  tally.set(key, (tally.get(key) ?? 0) + 1);
}

/** Never a 5xx; a 4xx leaves every list exactly as it was. */
async function checkWrite(method: string, url: string, body: { payload: string; contentType: string }) {
  const before = await snapshot();
  const res = await request(method, url, body.payload, body.contentType);
  count(res);
  if (res.status >= 500)
    throw new Error(`${method} ${url} answered ${res.status}: ${res.body}\n${body.payload.slice(0, 500)}`);
  if (res.status >= 400) {
    const after = await snapshot();
    if (after !== before)
      throw new Error(
        `${method} ${url} answered ${res.status} yet changed data:\n${body.payload.slice(0, 500)}`,
      );
    const error = JSON.parse(res.body) as { code?: unknown; detail?: unknown };
    expect(typeof error.code).toBe('string');
    expect(error.detail).toBeDefined();
  }
}

describe.each(STORES)('fuzzing (%s)', (store) => {
  beforeAll(async () => {
    hg = await startTestHookgate({ store });
    await hg.dispatcher!.stop(0);
    const app = await hg.svix.application.create({ name: 'fuzz', uid: 'fuzz-app' });
    appId = app.id;
    endpointId = (await hg.svix.endpoint.create(app.id, { url: 'http://127.0.0.1:9/fuzz', uid: 'fuzz-ep' }))
      .id;
    await hg.svix.endpoint.updateHeaders(app.id, endpointId, { headers: { 'x-fixture': '1' } });
    await hg.svix.eventType.create({ name: EVENT_TYPE, description: 'fixture' });
    await hg.svix.message.create(app.id, { eventType: EVENT_TYPE, payload: { fixture: true } });
    opsEndpointId = (await hg.svix.operationalWebhookEndpoint.create({ url: 'http://127.0.0.1:9/ops' })).id;
  });
  afterAll(async () => {
    const total = [...tally.values()].reduce((a, b) => a + b, 0);
    const lines = [...tally].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`);
    console.info(`fuzz: ${total} requests answered\n  ${lines.join('\n  ')}`);
    await hg?.destroy();
  });

  const writes: Array<[string, string, () => string, fc.Arbitrary<unknown>]> = [
    ['POST', 'create app', () => '/api/v1/app', appBody],
    ['PUT', 'update app', () => `/api/v1/app/${appId}`, appBody],
    ['PATCH', 'patch app', () => `/api/v1/app/${appId}`, appBody],
    ['POST', 'create endpoint', () => `/api/v1/app/${appId}/endpoint`, endpointBody],
    ['PUT', 'update endpoint', () => `/api/v1/app/${appId}/endpoint/${endpointId}`, endpointBody],
    ['PATCH', 'patch endpoint', () => `/api/v1/app/${appId}/endpoint/${endpointId}`, endpointBody],
    [
      'PUT',
      'replace headers',
      () => `/api/v1/app/${appId}/endpoint/${endpointId}/headers`,
      shaped({ headers }, ['headers']),
    ],
    [
      'PATCH',
      'patch headers',
      () => `/api/v1/app/${appId}/endpoint/${endpointId}/headers`,
      shaped({ headers }, ['headers']),
    ],
    [
      'POST',
      'rotate secret',
      () => `/api/v1/app/${appId}/endpoint/${endpointId}/secret/rotate`,
      shaped({ key: secret, gracePeriodSeconds: fc.integer({ min: -5, max: 700_000 }) }),
    ],
    [
      'POST',
      'recover',
      () => `/api/v1/app/${appId}/endpoint/${endpointId}/recover`,
      shaped({ since: time, until: time }, ['since']),
    ],
    ['POST', 'publish message', () => `/api/v1/app/${appId}/msg`, messageBody],
    ['POST', 'create event type', () => '/api/v1/event-type', eventTypeBody],
    ['PUT', 'update event type', () => `/api/v1/event-type/${EVENT_TYPE}`, eventTypeBody],
    ['PATCH', 'patch event type', () => `/api/v1/event-type/${EVENT_TYPE}`, eventTypeBody],
    ['POST', 'create operational endpoint', () => '/api/v1/operational-webhook/endpoint', endpointBody],
    [
      'PUT',
      'update operational endpoint',
      () => `/api/v1/operational-webhook/endpoint/${opsEndpointId}`,
      endpointBody,
    ],
    [
      'PUT',
      'replace operational endpoint headers',
      () => `/api/v1/operational-webhook/endpoint/${opsEndpointId}/headers`,
      shaped({ headers }, ['headers']),
    ],
  ];

  it.each(writes)('%s %s: never a 5xx, and a 4xx changes nothing', async (method, _label, path, body) => {
    await fc.assert(
      fc.asyncProperty(sent(body), (b) => checkWrite(method, path(), b)),
      { numRuns: RUNS },
    );
  });

  it('path ids: never a 5xx, and a 4xx changes nothing', async () => {
    const segment = fc
      .oneof(identifier, fc.string({ maxLength: 40 }), fc.constant('x'.repeat(300)))
      .map(encodeURIComponent);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('PUT', 'PATCH', 'POST'),
        fc.constantFrom(
          (s: string) => `/api/v1/app/${s}`,
          (s: string) => `/api/v1/app/${appId}/endpoint/${s}`,
          (s: string) => `/api/v1/app/${s}/msg`,
          (s: string) => `/api/v1/event-type/${s}`,
          (s: string) => `/api/v1/app/${appId}/endpoint/${s}/recover`,
          (s: string) => `/api/v1/operational-webhook/endpoint/${s}`,
        ),
        segment,
        sent(fc.oneof(appBody, endpointBody, messageBody)),
        (method, path, s, b) => checkWrite(method, path(s), b),
      ),
      { numRuns: RUNS },
    );
  });

  it('addresses an app by a uid of the longest allowed length (256), and answers a longer path id with {code, detail}', async () => {
    const uid = 'u'.repeat(256);
    expect((await request('POST', '/api/v1/app', JSON.stringify({ name: 'long', uid }))).status).toBe(201);
    expect((await request('GET', `/api/v1/app/${uid}`)).status).toBe(200);
    const tooLong = await request('GET', `/api/v1/app/${uid}u`);
    expect(tooLong.status).toBe(414);
    expect(JSON.parse(tooLong.body)).toMatchObject({ code: 'bad_request' });
  });

  const lists: Array<[string, () => string]> = [
    ['apps', () => '/api/v1/app'],
    ['endpoints', () => `/api/v1/app/${appId}/endpoint`],
    ['messages', () => `/api/v1/app/${appId}/msg`],
    ['attempts by endpoint', () => `/api/v1/app/${appId}/attempt/endpoint/${endpointId}`],
    ['messages of an endpoint', () => `/api/v1/app/${appId}/endpoint/${endpointId}/msg`],
    ['event types', () => '/api/v1/event-type'],
    ['operational endpoints', () => '/api/v1/operational-webhook/endpoint'],
  ];

  it.each(lists)(
    'lists %s: any query answers 2xx or a 4xx with a code, never a 5xx',
    async (_label, path) => {
      const before = await snapshot();
      await fc.assert(
        fc.asyncProperty(query, async (q) => {
          const res = await request('GET', `${path()}?${q}`);
          count(res);
          if (res.status >= 500) throw new Error(`GET ${path()}?${q} answered ${res.status}: ${res.body}`);
          if (res.status >= 400)
            expect(typeof (JSON.parse(res.body) as { code: unknown }).code).toBe('string');
        }),
        { numRuns: RUNS },
      );
      expect(await snapshot()).toBe(before);
    },
  );
});
