/**
 * A NUL character in text an API caller gives (a name, a URL, a path or query parameter) is
 * refused with 422 in the validation shape and changes nothing, on both stores (PostgreSQL's
 * text refused it with 500 while SQLite stored it). JSON documents (a message payload) may carry
 * `\u0000`: they are kept as JSON, where it stays escaped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';

describe.each(STORES)('NUL characters in API input (%s)', (store) => {
  let hg: TestHookgate;
  beforeAll(async () => {
    hg = await startTestHookgate({ store });
  });
  afterAll(async () => {
    await hg?.destroy();
  });
  const api = (path: string, method = 'GET', body?: unknown) =>
    fetch(`${hg.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${hg.adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const expectRefused = async (res: Response, loc: string[]) => {
    expect(res.status).toBe(422);
    const body = (await res.json()) as { code: string; detail: Array<{ loc: string[]; type: string }> };
    expect(body.code).toBe('validation');
    expect(body.detail).toContainEqual(expect.objectContaining({ loc, type: 'value_error.nul' }));
  };

  it('refuses it in names, URLs, event types, channels and metadata, storing nothing', async () => {
    await expectRefused(await api('/api/v1/app', 'POST', { name: 'a\u0000b' }), ['body', 'name']);
    await expectRefused(await api('/api/v1/app', 'POST', { name: 'ok', uid: 'u\u0000' }), ['body', 'uid']);
    await expectRefused(await api('/api/v1/event-type', 'POST', { name: 'x\u0000', description: '' }), [
      'body',
      'name',
    ]);
    expect(((await (await api('/api/v1/app')).json()) as { data: unknown[] }).data).toHaveLength(0);

    const app = await hg.svix.application.create({ name: 'nul' });
    await expectRefused(
      await api(`/api/v1/app/${app.id}/endpoint`, 'POST', {
        url: 'http://127.0.0.1/\u0000',
        description: '',
      }),
      ['body', 'url'],
    );
    await expectRefused(
      await api(`/api/v1/app/${app.id}/endpoint`, 'POST', {
        url: 'http://127.0.0.1/',
        metadata: { k: 'v\u0000' },
      }),
      ['body', 'metadata', 'k'],
    );
    await expectRefused(
      await api(`/api/v1/app/${app.id}/msg`, 'POST', { eventType: 'e\u0000', payload: {} }),
      ['body', 'eventType'],
    );
    await expectRefused(
      await api(`/api/v1/app/${app.id}/msg`, 'POST', { eventType: 'e', channels: ['c\u0000'], payload: {} }),
      ['body', 'channels', '0'],
    );
    expect(
      ((await (await api(`/api/v1/app/${app.id}/endpoint`)).json()) as { data: unknown[] }).data,
    ).toHaveLength(0);
    expect(
      ((await (await api(`/api/v1/app/${app.id}/msg`)).json()) as { data: unknown[] }).data,
    ).toHaveLength(0);
  });

  it('refuses it in path and query parameters', async () => {
    await expectRefused(await api('/api/v1/app/a%00b'), ['path', 'app_id']);
    const app = await hg.svix.application.create({ name: 'nul query' });
    await expectRefused(await api(`/api/v1/app/${app.id}/msg?channel=%00`), ['query', 'channel']);
  });

  it('keeps a NUL inside a message payload, escaped as JSON', async () => {
    const app = await hg.svix.application.create({ name: 'nul payload' });
    const res = await api(`/api/v1/app/${app.id}/msg`, 'POST', {
      eventType: 'e',
      payload: { text: 'a\u0000b' },
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const got = (await (await api(`/api/v1/app/${app.id}/msg/${id}`)).json()) as {
      payload: { text: string };
    };
    expect(got.payload.text).toBe('a\u0000b');
  });
});
