import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Svix } from 'svix';
import { afterEach, describe, expect, it } from 'vitest';
import { startHookgate } from '../../src/cli/server.js';
import { eventually, freshStore, STORES, tempDir, testConfig } from '../helpers/hookgate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const MAIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;

describe.each(STORES)('restart (%s)', (kind) => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('delivers everything that was pending when the server stopped, after it starts again', async () => {
    const dir = tempDir();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = await freshStore(kind, dir);
    cleanup.push(() => store.drop());
    let up = false;
    const accepted = new Set<string>();
    const receiver = await startReceiver((req) => {
      if (!up) return { status: 503 };
      accepted.add(String(req.headers['webhook-id']));
      return { status: 200 };
    });
    cleanup.push(() => receiver.close());
    const config = testConfig(join(dir, 'hookgate.db'), { ...store.config, retrySchedule: [1, 1, 1, 1, 1] });

    const first = await startHookgate(config);
    const svix = new Svix(config.adminToken!, { serverUrl: first.url! });
    const app = await svix.application.create({ name: 'restart' });
    await svix.endpoint.create(app.id, { url: receiver.url });
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++)
      ids.add((await svix.message.create(app.id, { eventType: 'e', payload: { i } })).id);
    await receiver.waitFor(1); // the receiver is refusing; the circuit keeps the rest waiting
    await first.stop();

    up = true;
    const second = await startHookgate(config);
    cleanup.push(() => second.stop());
    expect(accepted.size).toBe(0);
    await eventually(() => [...ids].every((id) => accepted.has(id)), 15_000);
    const svix2 = new Svix(config.adminToken!, { serverUrl: second.url! });
    const msgs = await svix2.message.list(app.id, { limit: 50 });
    expect(msgs.data).toHaveLength(20);
  });

  it('re-attempts deliveries that were in flight when the process was killed with SIGKILL', async () => {
    const dir = tempDir();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = await freshStore(kind, dir);
    cleanup.push(() => store.drop());
    // The first answer to each message hangs past the kill; later ones succeed.
    const seen = new Set<string>();
    const receiver: Receiver = await startReceiver((req) => {
      const id = String(req.headers['webhook-id']);
      if (seen.has(id)) return { status: 200 };
      seen.add(id);
      return { status: 200, delayMs: 60_000 };
    });
    cleanup.push(() => receiver.close());
    const token = 'hgsk_crash_test_token';
    const env = {
      ...process.env,
      ...store.env,
      HOOKGATE_ADMIN_TOKEN: token,
      HOOKGATE_ALLOW_NETWORKS: '127.0.0.0/8',
      HOOKGATE_REQUEST_TIMEOUT: '1',
      HOOKGATE_RETRY_SCHEDULE: '1,1,1',
      HOOKGATE_LOG_LEVEL: 'silent',
    };
    const start = async (port: number) => {
      const child = spawn(process.execPath, [MAIN, 'serve', '--port', String(port)], { env, stdio: 'pipe' });
      cleanup.push(() => void child.kill('SIGKILL'));
      const url = await listeningUrl(child);
      return { child, url };
    };

    const first = await start(0);
    const svix = new Svix(token, { serverUrl: first.url! });
    const app = await svix.application.create({ name: 'crash' });
    await svix.endpoint.create(app.id, { url: receiver.url });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push((await svix.message.create(app.id, { eventType: 'e', payload: { i } })).id);
    await receiver.waitFor(10); // all ten in flight, none answered
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    const second = await start(0);
    // Leases last the 1 s timeout plus a 5 s margin; then every delivery is attempted again.
    await eventually(() => receiver.requests.length >= 20, 20_000);
    const secondRound = receiver.requests.slice(10).map((r) => String(r.headers['webhook-id']));
    expect(new Set(secondRound)).toEqual(new Set(ids));
    const svix2 = new Svix(token, { serverUrl: second.url! });
    const endpoint = (await svix2.endpoint.list(app.id)).data[0]!;
    await eventually(async () => (await svix2.endpoint.getStats(app.id, endpoint.id)).success === 10, 10_000);
  });
});

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`hookgate exited with ${code}: ${out}`)));
  });
}
