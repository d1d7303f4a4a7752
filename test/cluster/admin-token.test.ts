import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningHookgate, startHookgate } from '../../src/cli/server.js';
import { STORES, tempDir, testConfig } from '../helpers/hookgate.js';
import { createTestDatabase } from '../helpers/postgres.js';

/** Status of an admin-only call made with `token`. */
async function listApps(node: RunningHookgate, token: string): Promise<number> {
  const res = await fetch(`${node.url}/api/v1/app`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

describe('a generated admin token', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** A database (or SQLite file) of its own, and a config for nodes on it without an admin token. */
  async function deployment(store: (typeof STORES)[number]) {
    const dir = tempDir();
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const db = store === 'postgres' ? await createTestDatabase() : null;
    if (db) cleanup.push(() => db.drop());
    const config = testConfig(join(dir, 'hookgate.db'), {
      adminToken: null,
      ...(db ? { databaseUrl: db.url } : {}),
    });
    return async function start(): Promise<RunningHookgate> {
      const node = await startHookgate(config);
      // Stopped once, by the test or else by the cleanup.
      let stopped: Promise<void> | null = null;
      const stop = () => (stopped ??= node.stop(2000));
      cleanup.push(stop);
      return { ...node, stop };
    };
  }

  describe.each(STORES)('on %s', (store) => {
    it('is printed on the first start only, and keeps working after a restart', async () => {
      const start = await deployment(store);
      const first = await start();
      const token = first.generatedAdminToken;
      expect(token).toMatch(/^hgsk_/);
      expect(await listApps(first, token!)).toBe(200);
      await first.stop(2000);

      const second = await start();
      expect(second.generatedAdminToken).toBeNull();
      expect(await listApps(second, token!)).toBe(200);
      expect(await listApps(second, 'hgsk_not_the_token')).toBe(401);
    });
  });

  // Two nodes of one PostgreSQL database started together each find no token and generate one;
  // before the fix both stored theirs (last write won) and both printed it, one of them useless.
  it('is generated once when two PostgreSQL nodes start together, and works on both', async () => {
    for (let round = 0; round < 5; round++) {
      const start = await deployment('postgres');
      const nodes = await Promise.all([start(), start()]);
      const printed = nodes.map((n) => n.generatedAdminToken).filter((t) => t !== null);
      expect(printed, `round ${round}`).toHaveLength(1);
      for (const node of nodes) expect(await listApps(node, printed[0]!), `round ${round}`).toBe(200);
      for (const step of cleanup.splice(0).reverse()) await step();
    }
  });
});
