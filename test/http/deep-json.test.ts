import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/domain/json-depth.js';
import { eventually, STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/** A publish body nested `levels` deep in all, its own object counting as level 1. */
function publishBody(levels: number): string {
  // The envelope is level 1 and the payload object level 2: arrays make up the rest, two bytes a
  // level, so 450,000 levels fit in the 1 MiB body limit (as in the report: a 900 KB body).
  const arrays = levels - 2;
  return `{"eventType":"deep.test","payload":{"a":${'['.repeat(arrays)}${']'.repeat(arrays)}}}`;
}

describe.each(STORES)('deeply nested JSON (%s)', (store) => {
  let hg: TestHookgate;
  let appId: string;
  const call = (method: string, path: string, body?: string) =>
    fetch(`${hg.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${hg.adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body }),
    });
  const messageCount = async () => {
    const res = await call('GET', `/api/v1/app/${appId}/msg?limit=250`);
    return ((await res.json()) as { data: unknown[] }).data.length;
  };

  beforeAll(async () => {
    hg = await startTestHookgate({ store });
    appId = (await hg.svix.application.create({ name: 'deep' })).id;
  });
  afterAll(async () => {
    await hg.destroy();
  });

  it(`accepts a body nested ${MAX_JSON_DEPTH} levels and refuses ${MAX_JSON_DEPTH + 1} with 422 json_too_deep`, async () => {
    const before = await messageCount();
    const ok = await call('POST', `/api/v1/app/${appId}/msg`, publishBody(MAX_JSON_DEPTH));
    expect(ok.status).toBe(202);
    const refused = await call('POST', `/api/v1/app/${appId}/msg`, publishBody(MAX_JSON_DEPTH + 1));
    expect(refused.status).toBe(422);
    expect(await refused.json()).toEqual({
      code: 'json_too_deep',
      detail: [{ loc: ['body'], msg: expect.stringContaining('64'), type: 'value_error.json.depth' }],
    });
    expect(await messageCount()).toBe(before + 1);
  });

  it.each([10_000, 450_000])('refuses %i levels with 422, never 500, and stores nothing', async (levels) => {
    const before = await messageCount();
    const res = await call('POST', `/api/v1/app/${appId}/msg`, publishBody(levels));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { code: string }).code).toBe('json_too_deep');
    expect(await messageCount()).toBe(before);
  });

  it('guards every JSON body, not only publishes', async () => {
    const metadata = `${'{"a":'.repeat(10_000)}{}${'}'.repeat(10_000)}`;
    const res = await call('POST', '/api/v1/app', `{"name":"deep metadata","metadata":${metadata}}`);
    expect(res.status).toBe(422);
    expect(((await res.json()) as { code: string }).code).toBe('json_too_deep');
  });

  it('refuses a deep body without parsing it', async () => {
    const body = publishBody(450_000);
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const res = await hg.api!.inject({
        method: 'POST',
        url: `/api/v1/app/${appId}/msg`,
        headers: { authorization: `Bearer ${hg.adminToken}`, 'content-type': 'application/json' },
        payload: body,
      });
      expect(res.statusCode).toBe(422);
      // Whatever else ran (authentication, the store), nothing parsed the body.
      expect(
        parse.mock.calls.filter(([text]) => typeof text === 'string' && text.length >= body.length),
      ).toEqual([]);
    } finally {
      parse.mockRestore();
    }
  });

  it('keeps answering health checks while deep payloads arrive back to back', async () => {
    const body = publishBody(450_000);
    let publishing = true;
    const publishes = (async () => {
      const statuses: number[] = [];
      try {
        for (let i = 0; i < 10; i++) {
          const res = await call('POST', `/api/v1/app/${appId}/msg`, body);
          await res.arrayBuffer();
          statuses.push(res.status);
        }
      } finally {
        publishing = false;
      }
      return statuses;
    })();
    const health: Array<{ status: number; ms: number }> = [];
    while (publishing || health.length < 5) {
      const started = performance.now();
      const res = await fetch(`${hg.url}/api/v1/health`);
      health.push({ status: res.status, ms: performance.now() - started });
    }
    expect(await publishes).toEqual(Array(10).fill(422));
    expect(health.every((h) => h.status === 204)).toBe(true);
    // A bound no busy machine should reach: before the fix one such publish held the loop ~150 ms.
    expect(Math.max(...health.map((h) => h.ms))).toBeLessThan(5_000);
  });
});

describe.each(STORES)('deeply nested provider bodies (%s)', (store) => {
  let hg: TestHookgate;
  let receiver: Receiver;

  beforeAll(async () => {
    hg = await startTestHookgate({ store });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await hg.destroy();
    await receiver.close();
  });

  it('accepts and forwards them byte for byte, named from headers, and shows the payload as text', async () => {
    const source = await hg.svix.ingest.source.create({
      name: 'deep provider',
      type: 'generic-webhook',
      config: {},
    } as never);
    await hg.svix.ingest.endpoint.create(source.id, { url: receiver.url });
    const body = `{"type":"from.body","a":${'['.repeat(450_000)}${']'.repeat(450_000)}}`;

    const res = await fetch(source.ingestUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-event-type': 'deep.provider' },
      body,
    });
    expect(res.status).toBe(200);
    const accepted = (await res.json()) as { status: string; msgId: string };
    expect(accepted.status).toBe('accepted');

    const [forwarded] = await receiver.waitFor(1);
    expect(forwarded!.body).toBe(body);

    // The message API shows it as text (serialising the parsed value again would overflow the stack).
    const apps = await hg.svix.application.list({ limit: 250 });
    const app = apps.data.find((a) => a.name === 'source deep provider')!;
    const message = await eventually(async () => {
      const r = await fetch(`${hg.url}/api/v1/app/${app.id}/msg/${accepted.msgId}`, {
        headers: { authorization: `Bearer ${hg.adminToken}` },
      });
      return r.status === 200 ? ((await r.json()) as { eventType: string; payload: unknown }) : null;
    });
    expect(message.eventType).toBe('deep.provider');
    expect(message.payload).toBe(body);
  });

  it('does not read the event type from a body too deep to look into', async () => {
    const source = await hg.svix.ingest.source.create({
      name: 'deep unnamed',
      type: 'generic-webhook',
      config: {},
    } as never);
    const body = `{"type":"from.body","a":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`;
    const res = await fetch(source.ingestUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    const entries = await fetch(`${hg.url}/ingest/api/v1/source/${source.id}/log`, {
      headers: { authorization: `Bearer ${hg.adminToken}` },
    });
    const [entry] = ((await entries.json()) as { data: Array<{ event_type: string; status: string }> }).data;
    expect(entry).toMatchObject({ status: 'accepted', event_type: 'unknown' });
  });
});
