/**
 * Storage faults on SQLite, through HTTP: a full disk, the database file removed under the
 * running server, a failed WAL flush. Each answers 503 with a code that says which, and health
 * says the same; the first recovers by itself. (PostgreSQL has no file: its equivalent, the
 * database going away, is database-outage.test.ts.)
 */
import { fdatasync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningHookgate, type StartOptions, startHookgate } from '../../src/cli/server.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { Fdatasync } from '../../src/store/sqlite/wal-sync.js';
import { eventually, tempDir, testConfig } from '../helpers/hookgate.js';

interface Server {
  url: string;
  running: RunningHookgate;
  headers: Record<string, string>;
  dir: string;
}

async function start(seams: StartOptions = {}, dir = tempDir()): Promise<Server> {
  const config = testConfig(join(dir, 'hookgate.db'));
  const running = await startHookgate(config, seams);
  return {
    url: running.url!,
    running,
    dir,
    headers: { authorization: `Bearer ${config.adminToken}`, 'content-type': 'application/json' },
  };
}

async function call(s: Server, method: string, path: string, body?: unknown) {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: s.headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: text ? JSON.parse(text) : null,
  };
}

const health = (s: Server) => call(s, 'GET', '/api/v1/health');
const publish = (s: Server, app: string, payload: unknown = { n: 1 }) =>
  call(s, 'POST', `/api/v1/app/${app}/msg`, { eventType: 'thing.happened', payload });

describe('storage faults (SQLite)', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  function track(s: Server): Server {
    cleanup.push(() => rmSync(s.dir, { recursive: true, force: true }));
    cleanup.push(() => s.running.stop(2000));
    return s;
  }

  it('answers a full disk with 503 storage_full and Retry-After, says so in health, and recovers once space is freed', async () => {
    // The schema's size plus 40 pages: the "disk" fills after a few large messages.
    const dir = tempDir();
    const dbPath = join(dir, 'hookgate.db');
    await openSqliteStore({ path: dbPath }).close();
    const db = new Database(dbPath);
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.close();
    const s = track(await start({ maxPageCount: pages + 40 }, dir));
    expect((await call(s, 'POST', '/api/v1/app', { name: 'filler', uid: 'filler' })).status).toBe(201);
    expect((await call(s, 'POST', '/api/v1/app', { name: 'other', uid: 'other' })).status).toBe(201);
    const big = { blob: 'x'.repeat(16_000) };
    let full: Awaited<ReturnType<typeof publish>> | null = null;
    for (let i = 0; i < 200 && !full; i++) {
      const res = await publish(s, 'filler', big);
      if (res.status !== 202) full = res;
    }
    expect(full?.status).toBe(503);
    expect(full?.body).toEqual({ code: 'storage_full', detail: expect.any(String) });
    expect(full?.retryAfter).toMatch(/^\d+$/);
    const unhealthy = await health(s);
    expect(unhealthy.status).toBe(503);
    expect(unhealthy.body.code).toBe('storage_full');

    // Space comes back: the filler app and its messages go.
    expect((await call(s, 'DELETE', '/api/v1/app/filler')).status).toBe(204);
    await eventually(async () => (await health(s)).status === 204, 5000);
    expect((await publish(s, 'other', big)).status).toBe(202);
  });

  it('stops acknowledging once the database file is removed, and says why in health', async () => {
    const s = track(await start());
    expect((await call(s, 'POST', '/api/v1/app', { name: 'a', uid: 'a' })).status).toBe(201);
    expect((await publish(s, 'a')).status).toBe(202);
    rmSync(s.dir, { recursive: true, force: true });
    // The identity check runs every second.
    const gone = await eventually(async () => {
      const h = await health(s);
      return h.status === 503 ? h : null;
    }, 5000);
    expect(gone.body).toEqual({ code: 'storage_lost', detail: expect.any(String) });
    const refused = await publish(s, 'a');
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('storage_lost');
    // Not something to retry in a few seconds: an operator must act.
    expect(refused.retryAfter).toBeNull();
  });

  it('after a failed WAL flush answers 503 storage_failed, health says so, and the node reports it must restart', async () => {
    let failing = false;
    const walFlush: Fdatasync = (fd, done) => {
      if (failing)
        setImmediate(() => done(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })));
      else fdatasync(fd, done);
    };
    const s = track(await start({ walFlush }));
    expect((await call(s, 'POST', '/api/v1/app', { name: 'a', uid: 'a' })).status).toBe(201);
    expect((await publish(s, 'a')).status).toBe(202);
    expect((await health(s)).status).toBe(204);

    failing = true;
    const res = await publish(s, 'a');
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('storage_failed');
    const h = await health(s);
    expect(h.status).toBe(503);
    expect(h.body.code).toBe('storage_failed');
    await expect(s.running.fatal).resolves.toEqual({ state: 'fatal', fault: 'storage_failed' });
    // Sticky: a flush that works again proves nothing about the pages the failed one dropped.
    failing = false;
    expect((await publish(s, 'a')).status).toBe(503);
  });
});
