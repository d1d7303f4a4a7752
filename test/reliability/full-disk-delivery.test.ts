/**
 * Delivery while the SQLite disk is full. The claim only rewrites rows in place, so it goes on
 * working when nothing new fits; recording an answer does not. The answer of a receiver that
 * accepted the delivery must not be charged as a failure of its own, nor the delivery sent again
 * and again while the disk stays full: the dispatcher waits for storage to come back, and then
 * the delivery is sent again and recorded as the receiver answered. (PostgreSQL's equivalent is
 * the database going away, where claims fail as well: database-outage.test.ts.)
 */
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startHookgate } from '../../src/cli/server.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { eventually, tempDir, testConfig } from '../helpers/hookgate.js';
import { closeServer } from '../helpers/receiver.js';

/** A receiver answering 200 with a body too big for the full disk; the first answer waits for `release`. */
async function gatedReceiver(): Promise<{
  url: string;
  received: number;
  release: () => void;
  server: Server;
}> {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const state = { url: '', received: 0, release, server: null as unknown as Server };
  state.server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      if (state.received++ === 0) await gate;
      res.writeHead(200).end('y'.repeat(60_000));
    });
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}/hook`;
  return state;
}

describe('delivery on a full disk (SQLite)', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('neither charges nor resends an accepted delivery while its answer cannot be stored, and records it once space returns', async () => {
    const dir = tempDir();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const dbPath = join(dir, 'hookgate.db');
    await openSqliteStore({ path: dbPath }).close();
    const db = new Database(dbPath);
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.close();
    const config = testConfig(dbPath, { retrySchedule: [1, 1, 1, 1, 1] });
    const running = await startHookgate(config, { maxPageCount: pages + 60 });
    cleanup.push(() => running.stop(2000));
    const receiver = await gatedReceiver();
    cleanup.push(() => closeServer(receiver.server));
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${running.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${config.adminToken}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };
    expect((await call('POST', '/api/v1/app', { name: 'a', uid: 'a' })).status).toBe(201);
    expect((await call('POST', '/api/v1/app', { name: 'filler', uid: 'filler' })).status).toBe(201);
    const endpoint = await call('POST', '/api/v1/app/a/endpoint', { url: receiver.url });
    expect(endpoint.status).toBe(201);
    const msg = await call('POST', '/api/v1/app/a/msg', { eventType: 'thing.happened', payload: { n: 1 } });
    expect(msg.status).toBe(202);
    await eventually(() => receiver.received === 1);

    // The disk fills while the send is in flight: down to the last small publish.
    for (const size of [16_000, 2_000, 300, 10]) {
      for (let i = 0; i < 400; i++) {
        const res = await call('POST', '/api/v1/app/filler/msg', {
          eventType: 'filler',
          payload: { blob: 'x'.repeat(size) },
        });
        if (res.status !== 202) {
          expect(res.body.code).toBe('storage_full');
          break;
        }
      }
    }
    receiver.release();
    // The answer cannot be stored; for as long as the disk stays full, nothing is sent again.
    await new Promise((r) => setTimeout(r, 6000));
    expect(receiver.received).toBe(1);
    expect((await call('GET', '/api/v1/health')).body.code).toBe('storage_full');

    // Space returns: the delivery is sent again and recorded as the receiver answered.
    expect((await call('DELETE', '/api/v1/app/filler')).status).toBe(204);
    const attempts = await eventually(async () => {
      const res = await call('GET', `/api/v1/app/a/attempt/msg/${msg.body.id}`);
      return res.body.data.length > 0 ? res.body.data : null;
    }, 10_000);
    expect(attempts.map((a: { responseStatusCode: number }) => a.responseStatusCode)).toEqual([200]);
    expect(receiver.received).toBe(2);
    const stats = await call('GET', `/api/v1/app/a/endpoint/${endpoint.body.id}/stats`);
    expect(stats.body).toMatchObject({ success: 1, fail: 0, pending: 0 });
  }, 40_000);
});
