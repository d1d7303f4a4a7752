/**
 * Crash between a keyed publish and its Idempotency-Key record: the server is SIGKILLed the
 * moment the first byte of its 202 reaches the client, restarted on the same store, and the
 * client publishes again with the same key, as a client that never heard the answer would. The
 * key must answer with the message already published: one message per key, in every trial.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Node, startNode } from '../cluster/nodes.js';
import { STORES, tempDir } from '../helpers/hookgate.js';
import { createTestDatabase } from '../helpers/postgres.js';

const TRIALS = 10;

/** Sends a raw POST and kills `node` with SIGKILL as soon as any byte of the answer arrives. */
function postAndKillOnFirstByte(
  node: Node,
  path: string,
  token: string,
  key: string,
  body: string,
): Promise<string> {
  const { hostname, port } = new URL(node.url!);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nhost: ${hostname}:${port}\r\nauthorization: Bearer ${token}\r\n` +
          `content-type: application/json\r\nidempotency-key: ${key}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
          `connection: close\r\n\r\n${body}`,
      );
    });
    socket.once('data', (chunk: Buffer) => {
      node.child.kill('SIGKILL');
      socket.destroy();
      resolve(chunk.toString());
    });
    socket.once('error', reject);
  });
}

describe.each(STORES)('a keyed publish killed at its first byte, then repeated (%s)', (store) => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it(`answers the repeat with the message already published, in each of ${TRIALS} trials`, async () => {
    const dir = tempDir();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const token = `hgsk_idem_crash_${randomBytes(8).toString('hex')}`;
    const env: NodeJS.ProcessEnv = { HOOKGATE_ADMIN_TOKEN: token, HOOKGATE_DB: join(dir, 'hookgate.db') };
    if (store === 'postgres') {
      const db = await createTestDatabase();
      cleanup.push(() => db.drop());
      env.DATABASE_URL = db.url;
    }
    let node = await startNode(env);
    cleanup.push(async () => {
      node.child.kill('SIGKILL');
      await node.exited;
    });
    const api = async (method: string, path: string, body?: unknown, key?: string) => {
      const res = await fetch(`${node.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(key ? { 'idempotency-key': key } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const app = await api('POST', '/api/v1/app', { name: 'crash' });
    const path = `/api/v1/app/${app.body.id}/msg`;

    const duplicated: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const key = `crash-${trial}-${randomBytes(4).toString('hex')}`;
      const body = { eventType: `trial.${trial}`, payload: { trial } };
      const heard = await postAndKillOnFirstByte(node, path, token, key, JSON.stringify(body));
      await node.exited;
      node = await startNode(env);
      const again = await api('POST', path, body, key);
      expect(again.status).toBe(202);
      const listed = await api('GET', `${path}?event_types=trial.${trial}`);
      const ids = (listed.body.data as Array<{ id: string }>).map((m) => m.id);
      if (ids.length !== 1) duplicated.push(trial);
      else expect(again.body.id).toBe(ids[0]);
      // What the killed server managed to send, if it was the whole answer, names the same message.
      const firstId = /"id":"(msg_[^"]+)"/.exec(heard)?.[1];
      if (firstId && ids.length === 1) expect(firstId).toBe(ids[0]);
    }
    expect(duplicated, 'trials that published a second message').toEqual([]);
  }, 120_000);
});
