import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { startReceiver } from '../helpers/receiver.js';
import { type Node, startNode, stopNode } from './nodes.js';

const TOKEN = 'hgsk_roles_test_token';

describe('PostgreSQL deployments', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function database() {
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    return db;
  }
  async function node(env: NodeJS.ProcessEnv, args?: string[]): Promise<Node> {
    const n = await startNode(
      { HOOKGATE_ADMIN_TOKEN: TOKEN, HOOKGATE_ALLOW_NETWORKS: '127.0.0.0/8', ...env },
      args,
    );
    cleanup.push(() => stopNode(n));
    return n;
  }
  const call = async (url: string, path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as { id: string } };
  };

  it('starts two nodes racing their migrations on an empty database, both cleanly', async () => {
    const db = await database();
    const [a, b] = await Promise.all([node({ DATABASE_URL: db.url }), node({ DATABASE_URL: db.url })]);
    for (const n of [a, b]) expect((await fetch(`${n!.url}/api/v1/health`)).status).toBe(204);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query('SELECT version FROM schema_migrations ORDER BY version');
    await client.end();
    // Each migration applied once, in order, by whichever node took the lock first.
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });

  it('splits an API node from a worker node: the API publishes, the worker delivers', async () => {
    const db = await database();
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    const apiNode = await node({ DATABASE_URL: db.url, HOOKGATE_ROLE: 'api' });
    const worker = await node({ DATABASE_URL: db.url, HOOKGATE_ROLE: 'worker', HOOKGATE_METRICS_PORT: '0' });
    expect(worker.url).toBeNull();
    expect(apiNode.metricsUrl).toBeNull();
    const app = await call(apiNode.url!, '/api/v1/app', { name: 'split' });
    await call(apiNode.url!, `/api/v1/app/${app.json.id}/endpoint`, { url: receiver.url });
    const msg = await call(apiNode.url!, `/api/v1/app/${app.json.id}/msg`, {
      eventType: 'e',
      payload: { a: 1 },
    });
    expect(msg.status).toBe(202);
    const [req] = await receiver.waitFor(1, 5000);
    expect(req!.headers['webhook-id']).toBe(msg.json.id);
    // A worker serves no API, but its metrics can be scraped: it made the attempt.
    const succeeded = async () => {
      const text = await (await fetch(worker.metricsUrl!)).text();
      return /^hookgate_attempts_total\{result="succeeded"\} 1$/m.test(text);
    };
    await vi.waitFor(async () => expect(await succeeded()).toBe(true), { timeout: 5000 });
  });

  it('refuses a split role without PostgreSQL', async () => {
    await expect(node({ HOOKGATE_ROLE: 'worker', HOOKGATE_DB: '/tmp/unused.db' })).rejects.toThrow(
      /needs DATABASE_URL/,
    );
  });
});
