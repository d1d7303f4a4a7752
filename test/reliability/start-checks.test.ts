/**
 * Broken states that used to start "healthy" (health 204) and then fail every write, or every
 * secret, with a bare 500: `hookgate serve` now refuses to start in each, with a message that
 * says what to do, and starts as before when nothing is wrong.
 *
 * Read-only SQLite files: root passes access checks and writes through a mode of 444, so the
 * file is made unwritable for root with `chattr +i` (when the file system allows it here), and
 * the server is also run as an unprivileged user (`nobody`, when these tests run as root) against
 * a file of mode 444 and a read-only directory, as a deployment would meet them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { SECRET_KEY_CHECK_SETTING } from '../../src/store/secret-key-check.js';
import { STORES, type StoreKind, startTestHookgate, tempDir } from '../helpers/hookgate.js';
import { createTestDatabase } from '../helpers/postgres.js';

const MAIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const NOBODY = 65534;
const IS_ROOT = process.getuid?.() === 0;

interface Outcome {
  /** Whether it printed "listening" (then it was stopped). */
  started: boolean;
  code: number | null;
  stderr: string;
}

/** Runs `hookgate serve` until it listens (then stops it) or exits on its own. */
function serve(env: Record<string, string>, asUser: number | null = null): Promise<Outcome> {
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: {
      ...process.env,
      PORT: '0',
      HOOKGATE_LOG_LEVEL: 'silent',
      HOOKGATE_ADMIN_TOKEN: 'hgsk_start_checks',
      HOOKGATE_SECRET_KEY: '',
      DATABASE_URL: '',
      ...env,
    },
    stdio: 'pipe',
    ...(asUser === null ? {} : { uid: asUser, gid: asUser }),
  });
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let started = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!started && /listening on/.test(stdout)) {
        started = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('exit', (code) => resolve({ started, code, stderr }));
  });
}

function expectRefused(outcome: Outcome, ...phrases: string[]) {
  expect(outcome.started, outcome.stderr).toBe(false);
  expect(outcome.code).not.toBe(0);
  for (const phrase of phrases) expect(outcome.stderr).toContain(phrase);
}

/** `chattr` on `path`; false when the file system or the process cannot set the flag. */
function chattr(flag: '+i' | '-i', path: string): boolean {
  try {
    execFileSync('chattr', [flag, path], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A directory of its own with a Hookgate SQLite database in it, made (and closed) by Hookgate. */
async function sqliteDatabase(): Promise<{ dir: string; path: string }> {
  const dir = tempDir();
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'hookgate.db');
  const hg = await startTestHookgate({ dbPath: path });
  await hg.destroy();
  return { dir, path };
}

describe('a SQLite database that cannot be written', () => {
  const user = IS_ROOT ? NOBODY : null;

  it('refuses to start when the file is read-only, naming it and what to make writable', async () => {
    const { dir, path } = await sqliteDatabase();
    // The directory stays writable: SQLite opens the file read-only and creates its WAL.
    chmodSync(dir, 0o777);
    chmodSync(path, 0o444);
    const outcome = await serve({ HOOKGATE_DB: path }, user);
    expectRefused(outcome, path, 'cannot be written', 'hookgate.db-wal', 'HOOKGATE_DB');
  });

  it('refuses to start when its directory is read-only (no WAL can be created there)', async () => {
    const { dir, path } = await sqliteDatabase();
    chmodSync(path, 0o666);
    chmodSync(dir, 0o555);
    cleanup.push(() => chmodSync(dir, 0o700));
    const outcome = await serve({ HOOKGATE_DB: path }, user);
    expectRefused(outcome, path, 'cannot be written', 'directory');
  });

  it.runIf(IS_ROOT)(
    'refuses to start as root when the file is immutable (access checks pass)',
    async (ctx) => {
      const { path } = await sqliteDatabase();
      if (!chattr('+i', path)) ctx.skip('chattr +i is not available on this file system');
      cleanup.push(() => chattr('-i', path));
      const outcome = await serve({ HOOKGATE_DB: path });
      expectRefused(outcome, path, 'cannot be written');
    },
  );

  it('starts as before on a writable database', async () => {
    const { dir, path } = await sqliteDatabase();
    chmodSync(dir, 0o777);
    chmodSync(path, 0o666);
    const outcome = await serve({ HOOKGATE_DB: path }, user);
    expect(outcome.started, outcome.stderr).toBe(true);
  });
});

describe('a PostgreSQL role that may not write', () => {
  /** A fresh database migrated by its owner, and a role of its own that may log in to it. */
  async function database(grants: (role: string) => string[]) {
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    const hg = await startTestHookgate({ store: 'postgres', databaseUrl: db.url });
    await hg.destroy();
    const role = `hookgate_ro_${randomBytes(4).toString('hex')}`;
    const owner = new pg.Client({ connectionString: db.url });
    await owner.connect();
    try {
      await owner.query(`CREATE ROLE ${role} LOGIN PASSWORD 'ro'`);
      for (const sql of grants(role)) await owner.query(sql);
    } finally {
      await owner.end();
    }
    cleanup.unshift(async () => {
      // After the database is dropped (cleanup runs in reverse): the role owns nothing then.
      const admin = new pg.Client({ connectionString: new URL('/postgres', db.url).toString() });
      await admin.connect();
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    });
    const url = new URL(db.url);
    url.username = role;
    url.password = 'ro';
    return { role, url: url.toString() };
  }

  it('refuses to start with a role granted SELECT only, saying what to grant', async () => {
    const { role, url } = await database((r) => [`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${r}`]);
    const outcome = await serve({ DATABASE_URL: url });
    expectRefused(
      outcome,
      `role "${role}"`,
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "${role}"`,
    );
  });

  it('refuses to start with a role that may create tables but only read them', async () => {
    const { role, url } = await database((r) => [
      `GRANT CREATE ON SCHEMA public TO ${r}`,
      `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${r}`,
    ]);
    const outcome = await serve({ DATABASE_URL: url });
    expectRefused(outcome, `role "${role}"`, 'permission denied for table settings', 'GRANT');
  });

  it('starts with a role that may read and write the tables but create nothing', async () => {
    const { url } = await database((r) => [
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${r}`,
    ]);
    const outcome = await serve({ DATABASE_URL: url });
    expect(outcome.started, outcome.stderr).toBe(true);
  });
});

describe.each(STORES)('HOOKGATE_SECRET_KEY checked at start (%s)', (store: StoreKind) => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);

  /**
   * A database with an endpoint whose signing secret is sealed with `key` (plaintext without
   * one), made by Hookgate and closed; the env to serve it and a way to change it underneath.
   */
  async function databaseWithSecret(key: Buffer | null) {
    let env: Record<string, string>;
    let raw: (sql: string) => Promise<void>;
    if (store === 'postgres') {
      const db = await createTestDatabase();
      cleanup.push(() => db.drop());
      env = { DATABASE_URL: db.url };
      raw = async (sql) => {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        await client.query(sql);
        await client.end();
      };
    } else {
      const dir = tempDir();
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const path = join(dir, 'hookgate.db');
      env = { HOOKGATE_DB: path };
      raw = async (sql) => {
        const db = new Database(path);
        db.exec(sql);
        db.close();
      };
    }
    const hg = await startTestHookgate({
      store,
      ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : { dbPath: env.HOOKGATE_DB! }),
      secretKey: key,
    });
    const app = await hg.svix.application.create({ name: 'sealed' });
    await hg.svix.endpoint.create(app.id, { url: 'https://example.com/hook' });
    await hg.destroy();
    return { env, raw };
  }

  it('refuses a wrong key and a missing one, and starts with the right one', async () => {
    const { env } = await databaseWithSecret(keyA);
    expectRefused(
      await serve({ ...env, HOOKGATE_SECRET_KEY: keyB.toString('base64') }),
      'HOOKGATE_SECRET_KEY does not match the key the secrets in this database were sealed with',
    );
    expectRefused(await serve(env), 'secrets in this database are sealed: set HOOKGATE_SECRET_KEY');
    const right = await serve({ ...env, HOOKGATE_SECRET_KEY: keyA.toString('base64') });
    expect(right.started, right.stderr).toBe(true);
  });

  it('checks a database sealed before the key check existed against its sealed secrets', async () => {
    const { env, raw } = await databaseWithSecret(keyA);
    await raw(`DELETE FROM settings WHERE key = '${SECRET_KEY_CHECK_SETTING}'`);
    expectRefused(
      await serve({ ...env, HOOKGATE_SECRET_KEY: keyB.toString('base64') }),
      'HOOKGATE_SECRET_KEY does not match',
    );
    const right = await serve({ ...env, HOOKGATE_SECRET_KEY: keyA.toString('base64') });
    expect(right.started, right.stderr).toBe(true);
  });

  it('starts without a key, or with a new one, on a database with nothing sealed', async () => {
    const { env } = await databaseWithSecret(null);
    const plain = await serve(env);
    expect(plain.started, plain.stderr).toBe(true);
    const keyed = await serve({ ...env, HOOKGATE_SECRET_KEY: keyA.toString('base64') });
    expect(keyed.started, keyed.stderr).toBe(true);
  });
});
