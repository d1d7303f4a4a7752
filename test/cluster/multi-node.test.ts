import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/postgres.js';
import { closeServer } from '../helpers/receiver.js';
import { type Node, startNode, stopNode } from './nodes.js';

const TOKEN = 'hgsk_cluster_test_token';
const MESSAGES = 5000;

/**
 * Three Hookgate processes on one PostgreSQL database share the delivery work; one is killed
 * with SIGKILL halfway through. Every acknowledged message must arrive, and no delivery may be
 * attempted by two nodes at once (each arrival is checked against attempts still in flight).
 */
describe('three nodes on one PostgreSQL database', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const nodes: Node[] = [];
  let receiver: Server;
  let receiverUrl: string;
  const inFlight = new Map<string, number>();
  const delivered = new Set<string>();
  let concurrentDuplicates = 0;
  let arrivals = 0;
  const agent = new Agent({ connections: 32 });

  beforeAll(async () => {
    db = await createTestDatabase();
    receiver = createServer((req, res) => {
      const id = String(req.headers['webhook-id']);
      arrivals++;
      if ((inFlight.get(id) ?? 0) > 0) concurrentDuplicates++;
      inFlight.set(id, (inFlight.get(id) ?? 0) + 1);
      // A connection closed by a killed node also ends its attempt.
      res.on('close', () => inFlight.set(id, (inFlight.get(id) ?? 1) - 1));
      req.resume();
      req.on('end', () => {
        setTimeout(() => {
          delivered.add(id);
          res.end('ok');
        }, Math.random() * 5);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });

  afterAll(async () => {
    for (const node of nodes) await stopNode(node, 'SIGKILL');
    await agent.close();
    await closeServer(receiver);
    await db?.drop();
  });

  const env = () => ({
    DATABASE_URL: db.url,
    HOOKGATE_ADMIN_TOKEN: TOKEN,
    HOOKGATE_ALLOW_NETWORKS: '127.0.0.0/8',
    HOOKGATE_REQUEST_TIMEOUT: '2',
    HOOKGATE_RETRY_SCHEDULE: '1,1,1,1,1',
    HOOKGATE_PG_POOL_SIZE: '8',
  });

  async function api(url: string, method: 'POST' | 'GET', path: string, body?: unknown) {
    const res = await request(`${url}${path}`, {
      method,
      dispatcher: agent,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, json: (await res.body.json()) as { id: string } };
  }

  it('delivers every acknowledged message once the killed node’s leases run out', async () => {
    // Started together on an empty database: the migrations race, and both must come up.
    nodes.push(...(await Promise.all([startNode(env()), startNode(env()), startNode(env())])));
    const urls = nodes.map((n) => n.url!);
    const app = await api(urls[0]!, 'POST', '/api/v1/app', { name: 'cluster' });
    expect(app.status).toBe(201);
    expect(
      (await api(urls[1]!, 'POST', `/api/v1/app/${app.json.id}/endpoint`, { url: receiverUrl })).status,
    ).toBe(201);

    const acknowledged = new Set<string>();
    let next = 0;
    let killed = false;
    const publisher = async (lane: number) => {
      while (next < MESSAGES) {
        const n = next++;
        if (n >= MESSAGES / 2 && !killed) {
          killed = true;
          nodes[2]!.child.kill('SIGKILL');
        }
        // After the kill, publish only to the survivors.
        const target = urls[killed ? lane % 2 : n % 3]!;
        const res = await api(target, 'POST', `/api/v1/app/${app.json.id}/msg`, {
          eventType: 'e',
          payload: { n },
        }).catch(() => null);
        if (res?.status === 202) acknowledged.add(res.json.id);
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, lane) => publisher(lane)));
    expect(acknowledged.size).toBeGreaterThan(MESSAGES * 0.99); // the few sent to the dying node may be lost unacknowledged

    const deadline = Date.now() + 60_000;
    while (![...acknowledged].every((id) => delivered.has(id)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const missing = [...acknowledged].filter((id) => !delivered.has(id));
    expect(missing).toEqual([]);
    expect(concurrentDuplicates).toBe(0);
    // Recorded for the reader: how many arrivals the kill cost beyond one per message.
    console.info(
      `cluster: ${acknowledged.size} acknowledged, ${arrivals} arrivals, ${concurrentDuplicates} concurrent`,
    );
  }, 120_000);
});
