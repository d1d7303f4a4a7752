import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Svix } from 'svix';
import { type HookgateConfig, parseConfig } from '../../src/cli/config.js';
import { type RunningHookgate, startHookgate } from '../../src/cli/server.js';
import { createTestDatabase } from './postgres.js';

/** The stores every behaviour test above the store runs on. */
export const STORES = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORES)[number];

export interface TestHookgate extends Omit<RunningHookgate, 'url'> {
  url: string;
  /** Which store it runs on. */
  storeKind: StoreKind;
  adminToken: string;
  /** The SQLite file (unused on PostgreSQL). */
  dbPath: string;
  /** The PostgreSQL database's URL, or null on SQLite. */
  databaseUrl: string | null;
  svix: Svix;
  /** Stops the server and deletes its database (directory or PostgreSQL database). */
  destroy(): Promise<void>;
}

/** A fresh directory under the OS temp dir, removed by the caller. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'hookgate-test-'));
}

/**
 * The configuration tests run with: loopback allowed, fast retries, quiet logs, and a circuit
 * breaker that opens for half a second (not 30 s), so tests of other behaviour that fail a few
 * attempts on purpose do not wait on it. Tests of the breaker set their own policy.
 */
export function testConfig(dbPath: string, overrides: Partial<HookgateConfig> = {}): HookgateConfig {
  const base = parseConfig({
    port: '0',
    host: '127.0.0.1',
    db: dbPath,
    synchronous: 'FULL',
    adminToken: `hgsk_test_${randomBytes(12).toString('hex')}`,
    retrySchedule: '1,1',
    requestTimeout: '5',
    allowNetworks: '127.0.0.0/8,::1/128',
    maxPayloadBytes: String(1024 * 1024),
    logLevel: 'silent',
    publicUrl: '',
  });
  return {
    ...base,
    health: { ...base.health, openBaseMs: 500, openMaxMs: 2000 },
    // The thread's entry is compiled JavaScript, which tests run from sources do not have; the
    // thread is tested in test/delivery/threaded-sender.test.ts and by every test that spawns dist/.
    senderThread: false,
    ...overrides,
  };
}

export interface TestHookgateOptions extends Partial<HookgateConfig> {
  /** The store to run on (default SQLite); PostgreSQL gets a fresh database of its own. */
  store?: StoreKind;
}

/**
 * Starts Hookgate in this process on a free port, on its own SQLite file or, with
 * `store: 'postgres'`, its own database on the suite's PostgreSQL server.
 */
export async function startTestHookgate(options: TestHookgateOptions = {}): Promise<TestHookgate> {
  const { store: storeKind = 'sqlite', ...overrides } = options;
  const dir = tempDir();
  const database = storeKind === 'postgres' && !overrides.databaseUrl ? await createTestDatabase() : null;
  const config = testConfig(overrides.dbPath ?? join(dir, 'hookgate.db'), {
    ...(database ? { databaseUrl: database.url } : {}),
    ...overrides,
  });
  let running: RunningHookgate;
  try {
    running = await startHookgate(config);
  } catch (error) {
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  if (!running.url) throw new Error('test Hookgate must serve the API');
  return {
    ...running,
    storeKind,
    url: running.url,
    adminToken: config.adminToken!,
    dbPath: config.dbPath,
    databaseUrl: config.databaseUrl,
    svix: new Svix(config.adminToken!, { serverUrl: running.url }),
    async destroy() {
      await running.stop(2000);
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(
  check: () => Promise<T> | T,
  timeoutMs = 10_000,
  stepMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}

/** A fresh, empty store for a Hookgate the test starts itself (in this process or spawned). */
export interface FreshStore {
  /** Environment for a spawned `hookgate serve`: HOOKGATE_DB or DATABASE_URL. */
  env: Record<string, string>;
  /** The same as configuration overrides for `testConfig`. */
  config: Partial<HookgateConfig>;
  /** Drops the PostgreSQL database (the SQLite file goes with the caller's directory). */
  drop(): Promise<void>;
}

/** A store of `kind` for a Hookgate started by the test: a file in `dir`, or a fresh database. */
export async function freshStore(kind: StoreKind, dir: string): Promise<FreshStore> {
  if (kind === 'sqlite') {
    const dbPath = join(dir, 'hookgate.db');
    return { env: { HOOKGATE_DB: dbPath }, config: { dbPath }, drop: async () => {} };
  }
  const database = await createTestDatabase();
  return {
    env: { DATABASE_URL: database.url },
    config: { databaseUrl: database.url },
    drop: () => database.drop(),
  };
}
