/**
 * Idempotency-Key under concurrency: repeats of one key sent together (to one node, or to two
 * nodes sharing a PostgreSQL database) execute once and all get the same answer; when the first
 * execution fails, the waiting repeats take the key one at a time.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/http/app.js';
import { hashToken } from '../../src/http/auth.js';
import type { Api } from '../../src/http/types.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import {
  STORES,
  type StoreKind,
  startTestHookgate,
  type TestHookgate,
  tempDir,
} from '../helpers/hookgate.js';
import { createTestDatabase } from '../helpers/postgres.js';

/** Repeats of one key sent at once. */
const REPEATS = 8;

interface Answer {
  status: number;
  text: string;
}

async function post(base: string, token: string, path: string, body: unknown, key: string): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

async function list(base: string, token: string, path: string): Promise<Array<{ id: string }>> {
  const res = await fetch(`${base}${path}?limit=250`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as { data: Array<{ id: string }> }).data;
}

describe.each(STORES)('Idempotency-Key repeats sent together (%s)', (store) => {
  let hg: TestHookgate;
  /** The nodes the repeats are spread over: on PostgreSQL, two sharing the database. */
  let nodes: string[];
  let second: TestHookgate | undefined;

  beforeAll(async () => {
    hg = await startTestHookgate({ store });
    nodes = [hg.url];
    if (store === 'postgres') {
      second = await startTestHookgate({ store, databaseUrl: hg.databaseUrl, adminToken: hg.adminToken });
      nodes.push(second.url);
    }
  });
  afterAll(async () => {
    await second?.destroy();
    await hg?.destroy();
  });

  /** Sends REPEATS copies of one POST with one key at once, spread over the nodes. */
  const repeats = (path: string, body: unknown) => {
    const key = `key-${randomBytes(6).toString('hex')}`;
    return Promise.all(
      Array.from({ length: REPEATS }, (_, i) =>
        post(nodes[i % nodes.length]!, hg.adminToken, path, body, key),
      ),
    );
  };
  const expectOneAnswer = (answers: Answer[], status: number) => {
    expect(answers[0]!.status, answers[0]!.text).toBe(status);
    for (const a of answers) expect(a).toEqual(answers[0]);
    return JSON.parse(answers[0]!.text) as { id: string };
  };

  it('creates one application, and every repeat answers with it', async () => {
    const name = `once-${randomBytes(4).toString('hex')}`;
    const { id } = expectOneAnswer(await repeats('/api/v1/app', { name }), 201);
    const apps = (await list(hg.url, hg.adminToken, '/api/v1/app')) as Array<{ id: string; name: string }>;
    expect(apps.filter((a) => a.name === name).map((a) => a.id)).toEqual([id]);
  });

  it('creates one endpoint, and every repeat answers with it', async () => {
    const app = await hg.svix.application.create({ name: 'endpoints' });
    const path = `/api/v1/app/${app.id}/endpoint`;
    const { id } = expectOneAnswer(await repeats(path, { url: 'http://127.0.0.1:9/hook' }), 201);
    expect((await list(hg.url, hg.adminToken, path)).map((e) => e.id)).toEqual([id]);
  });

  it('publishes one message, and every repeat answers with it', async () => {
    const app = await hg.svix.application.create({ name: 'messages' });
    const path = `/api/v1/app/${app.id}/msg`;
    const { id } = expectOneAnswer(await repeats(path, { eventType: 'order.paid', payload: { n: 1 } }), 202);
    expect((await list(hg.url, hg.adminToken, path)).map((m) => m.id)).toEqual([id]);
  });

  it('treats spellings of one path as one request: the key is scoped by the matched route', async () => {
    const app = await hg.svix.application.create({ name: 'spellings' });
    const key = `key-${randomBytes(6).toString('hex')}`;
    const body = { eventType: 'order.paid', payload: { n: 2 } };
    const encoded = `%${app.id.charCodeAt(0).toString(16)}${app.id.slice(1)}`;
    const answers = [];
    for (const path of [`/api/v1/app/${app.id}/msg`, `/api/v1/app/${encoded}/msg`])
      answers.push(await post(hg.url, hg.adminToken, path, body, key));
    const { id } = expectOneAnswer(answers, 202);
    expect((await list(hg.url, hg.adminToken, `/api/v1/app/${app.id}/msg`)).map((m) => m.id)).toEqual([id]);
  });
});

/** A real store whose createApp fails once, slowly, as a first execution that fails would. */
function failingOnce(inner: Store): { store: Store; calls: () => number } {
  let calls = 0;
  const store: Store = {
    ...inner,
    async createApp(input) {
      calls++;
      if (calls === 1) {
        await new Promise((r) => setTimeout(r, 200));
        throw new Error('the first execution fails');
      }
      return inner.createApp(input);
    },
  };
  return { store, calls: () => calls };
}

async function openStore(kind: StoreKind): Promise<{ store: Store; close: () => Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = tempDir();
    const store = openSqliteStore({ path: join(dir, 'hookgate.db') });
    return {
      store,
      close: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const db = await createTestDatabase();
  const store = await openPostgresStore({ connectionString: db.url });
  return {
    store,
    close: async () => {
      await store.close();
      await db.drop();
    },
  };
}

describe.each(STORES)('Idempotency-Key after a failed first request (%s)', (kind) => {
  let api: Api;
  let url: string;
  let close: () => Promise<void>;
  let calls: () => number;
  const token = `hgsk_idem_${randomBytes(8).toString('hex')}`;

  beforeAll(async () => {
    const opened = await openStore(kind);
    const failing = failingOnce(opened.store);
    calls = failing.calls;
    close = opened.close;
    api = await buildApi({
      store: failing.store,
      adminTokenHash: hashToken(token),
      maxPayloadBytes: 1024 * 1024,
      allowNetworks: [],
      appTokenTtlSeconds: 3600,
      publicUrl: null,
      wakeDispatcher: () => {},
    });
    url = await api.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await api?.close();
    await close?.();
  });

  it('lets exactly one waiting repeat execute next, and the others replay its answer', async () => {
    const key = `key-${randomBytes(6).toString('hex')}`;
    const first = post(url, token, '/api/v1/app', { name: 'after-failure' }, key);
    // The others arrive while the first is running, and wait for it.
    await new Promise((r) => setTimeout(r, 50));
    const waiting = await Promise.all(
      Array.from({ length: 5 }, () => post(url, token, '/api/v1/app', { name: 'after-failure' }, key)),
    );
    expect((await first).status).toBe(500);
    expect(calls()).toBe(2);
    expect(waiting[0]!.status, waiting[0]!.text).toBe(201);
    for (const a of waiting) expect(a).toEqual(waiting[0]);
    const apps = (await list(url, token, '/api/v1/app')) as Array<{ id: string; name: string }>;
    expect(apps.filter((a) => a.name === 'after-failure')).toHaveLength(1);
  });
});
