/**
 * The PostgreSQL database goes away under load (stopped and started again; every backend of
 * Hookgate's terminated, several rounds): the node stays up, answers 503 with a reason and
 * Retry-After while the database is away, says so in health, and delivers every acknowledged
 * message by itself once it is back. Vitest fails a run on any unhandled error, so an 'error'
 * event nobody listens for (what used to end the process) fails these tests too.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { type PostgresServer, startPostgresServer } from '../helpers/postgres-server.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

interface Answer {
  status: number;
  retryAfter: string | null;
  body: { code?: string; detail?: unknown; id?: string } | null;
}

async function call(hg: TestHookgate, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${hg.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${hg.adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: text ? JSON.parse(text) : null,
  };
}

/**
 * Publishes one message every `everyMs` until stopped, keeping the ids acknowledged (202) and
 * every answer's status.
 */
function publishLoad(hg: TestHookgate, app: string, everyMs = 25) {
  const acknowledged = new Set<string>();
  const answers: Answer[] = [];
  let stopped = false;
  const done = (async () => {
    for (let i = 0; !stopped; i++) {
      const answer = await call(hg, 'POST', `/api/v1/app/${app}/msg`, {
        eventType: 'load.tick',
        payload: { i },
      }).catch(
        (error: unknown): Answer => ({ status: 0, retryAfter: null, body: { detail: String(error) } }),
      );
      answers.push(answer);
      if (answer.status === 202 && answer.body?.id) acknowledged.add(answer.body.id);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    acknowledged,
    answers,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

async function setUp(hg: TestHookgate, receiver: Receiver, app: string): Promise<void> {
  expect((await call(hg, 'POST', '/api/v1/app', { name: app, uid: app })).status).toBe(201);
  expect((await call(hg, 'POST', `/api/v1/app/${app}/endpoint`, { url: receiver.url })).status).toBe(201);
}

/** Every acknowledged message reached the receiver (by webhook-id), within `timeoutMs`. */
async function allDelivered(receiver: Receiver, acknowledged: Set<string>, timeoutMs: number): Promise<void> {
  await eventually(
    () => {
      const seen = new Set(receiver.requests.map((r) => String(r.headers['webhook-id'])));
      return [...acknowledged].every((id) => seen.has(id));
    },
    timeoutMs,
    100,
  );
}

describe('PostgreSQL outage', () => {
  let server: PostgresServer;
  let receiver: Receiver;

  beforeAll(async () => {
    server = await startPostgresServer();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await server?.close();
  });

  /** A fresh database on the private server, and Hookgate on it. */
  async function hookgateOnFreshDatabase(name: string): Promise<TestHookgate> {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    return startTestHookgate({ store: 'postgres', databaseUrl: url.toString() });
  }

  it('rides out PostgreSQL stopped and started under load: 503 with a reason meanwhile, then delivers everything acknowledged', async () => {
    const hg = await hookgateOnFreshDatabase('outage_restart');
    try {
      await setUp(hg, receiver, 'restart');
      const load = publishLoad(hg, 'restart');
      await eventually(() => load.acknowledged.size >= 20);

      await server.stop();
      const refused = await eventually(() => load.answers.find((a) => a.status === 503), 15_000);
      expect(refused.body).toEqual({ code: 'database_unavailable', detail: expect.any(String) });
      expect(refused.retryAfter).toMatch(/^\d+$/);
      const health = await call(hg, 'GET', '/api/v1/health');
      expect(health.status).toBe(503);
      expect(health.body?.code).toBe('database_unavailable');
      // Down for a while, with the load going on.
      await new Promise((r) => setTimeout(r, 3000));
      const duringOutage = load.answers.length;

      await server.start();
      const since = Date.now();
      await eventually(() => load.answers.slice(duringOutage).some((a) => a.status === 202), 15_000);
      await eventually(async () => (await call(hg, 'GET', '/api/v1/health')).status === 204, 10_000);
      await load.stop();
      // Every answer was an acknowledgement or a 503 that said why: never a 500.
      expect(load.answers.filter((a) => a.status !== 202 && a.status !== 503)).toEqual([]);
      await allDelivered(receiver, load.acknowledged, 20_000);
      expect(Date.now() - since).toBeLessThan(20_000);
    } finally {
      await hg.destroy().catch(() => {});
    }
  }, 90_000);

  it('keeps serving and delivering while every one of its backends is terminated, five rounds under load', async () => {
    const hg = await hookgateOnFreshDatabase('outage_terminate');
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await setUp(hg, receiver, 'terminate');
      const load = publishLoad(hg, 'terminate');
      for (let round = 0; round < 5; round++) {
        await eventually(() => load.acknowledged.size >= (round + 1) * 10);
        const { rows } = await admin.query(
          `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
           WHERE datname = 'outage_terminate' AND pid <> pg_backend_pid()`,
        );
        expect(rows.length).toBeGreaterThan(0);
        await new Promise((r) => setTimeout(r, 300));
      }
      const before = load.acknowledged.size;
      await eventually(() => load.acknowledged.size >= before + 20, 15_000);
      await load.stop();
      expect(load.answers.filter((a) => a.status !== 202 && a.status !== 503)).toEqual([]);
      await allDelivered(receiver, load.acknowledged, 20_000);
      // A connection terminated in the last round can mark the store unavailable when it is next
      // used; the health probe (every second) clears it.
      await eventually(async () => (await call(hg, 'GET', '/api/v1/health')).status === 204, 5_000);
    } finally {
      await admin.end();
      await hg.destroy().catch(() => {});
    }
  }, 90_000);
});
