/**
 * A database that stops taking writes while the server runs (its role's rights revoked, a
 * failover onto a standby): writes answer 503 `storage_read_only` instead of a bare 500, health
 * says why, and the node recovers by itself once writes work again. PostgreSQL only: a SQLite
 * file checked writable at start keeps its open descriptors writable (chmod does not reach them),
 * and the ways it can still fail later (an immutable WAL, a failing disk) are I/O errors.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { createTestDatabase } from '../helpers/postgres.js';

async function sql(url: string, ...statements: string[]) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

describe('a PostgreSQL role whose write rights are revoked while Hookgate runs', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('answers 503 storage_read_only, reports it in health, and recovers once granted again', async () => {
    const db = await createTestDatabase();
    cleanup.push(async () => {
      await db.drop();
      await sql(new URL('/postgres', db.url).toString(), `DROP ROLE IF EXISTS ${role}`);
    });
    const role = `hookgate_rw_${randomBytes(4).toString('hex')}`;
    // The owner migrates; the role then reads and writes what the owner made.
    const owner = await startTestHookgate({ store: 'postgres', databaseUrl: db.url });
    await owner.destroy();
    const dml = `SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public`;
    await sql(db.url, `CREATE ROLE ${role} LOGIN PASSWORD 'rw'`, `GRANT ${dml} TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = 'rw';
    const hg: TestHookgate = await startTestHookgate({ store: 'postgres', databaseUrl: url.toString() });
    cleanup.push(() => hg.destroy());
    const app = await hg.svix.application.create({ name: 'rights' });

    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${hg.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${hg.adminToken}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as { code?: string }) : null };
    };

    await sql(db.url, `REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public FROM ${role}`);
    const refused = await call('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'a.b', payload: {} });
    expect(refused).toEqual({ status: 503, body: expect.objectContaining({ code: 'storage_read_only' }) });
    const health = await call('GET', '/api/v1/health');
    expect(health).toEqual({ status: 503, body: expect.objectContaining({ code: 'storage_read_only' }) });

    await sql(db.url, `GRANT ${dml} TO ${role}`);
    await eventually(async () => (await call('GET', '/api/v1/health')).status === 204, 10_000, 100);
    const accepted = await call('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'a.b', payload: {} });
    expect(accepted.status).toBe(202);
  });
});
