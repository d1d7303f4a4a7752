/**
 * A `hookgate serve` process on PostgreSQL outlives its database: backends terminated, then the
 * server stopped and started again. It used to exit with code 1 (an unhandled 'error' event).
 * Needs `npm run build` (it runs dist/).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/hookgate.js';
import { type PostgresServer, startPostgresServer } from '../helpers/postgres-server.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type Node, startNode, stopNode } from './nodes.js';

const TOKEN = 'hgsk_outage_node_token_0123456789';

describe('a node through a PostgreSQL outage', () => {
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

  it('does not exit when its backends are terminated or PostgreSQL restarts, and delivers afterwards', async () => {
    const node: Node = await startNode({
      DATABASE_URL: server.url,
      HOOKGATE_ADMIN_TOKEN: TOKEN,
      HOOKGATE_ALLOW_NETWORKS: '127.0.0.0/8',
    });
    const admin = new pg.Client({ connectionString: server.url });
    try {
      const call = async (path: string, body?: unknown) => {
        const res = await fetch(`${node.url}${path}`, {
          method: body === undefined ? 'GET' : 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null };
      };
      expect((await call('/api/v1/app', { name: 'n', uid: 'n' })).status).toBe(201);
      expect((await call('/api/v1/app/n/endpoint', { url: receiver.url })).status).toBe(201);
      const publish = () => call('/api/v1/app/n/msg', { eventType: 'e', payload: {} });

      await admin.connect();
      for (let round = 0; round < 3; round++) {
        expect([202, 503]).toContain((await publish()).status);
        await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = 'postgres' AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
        );
        await new Promise((r) => setTimeout(r, 500));
      }
      await admin.end();

      await server.stop();
      await eventually(async () => (await call('/api/v1/health')).status === 503, 10_000);
      expect((await publish()).body.code).toBe('database_unavailable');
      await new Promise((r) => setTimeout(r, 2000));
      await server.start();

      const published = await eventually(async () => {
        const res = await publish();
        return res.status === 202 ? (res.body.id as string) : null;
      }, 15_000);
      await eventually(() => receiver.requests.some((r) => r.headers['webhook-id'] === published), 15_000);
      expect(node.child.exitCode).toBeNull();
      // Health follows within a probe (a second) of the database's return.
      await eventually(async () => (await call('/api/v1/health')).status === 204, 5000);
    } finally {
      await admin.end().catch(() => {});
      await stopNode(node);
    }
  }, 90_000);
});
