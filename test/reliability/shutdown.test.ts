import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Svix } from 'svix';
import { afterEach, describe, expect, it } from 'vitest';
import { startHookgate } from '../../src/cli/server.js';
import { eventually, freshStore, STORES, tempDir, testConfig } from '../helpers/hookgate.js';
import { startReceiver } from '../helpers/receiver.js';

const MAIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;

describe.each(STORES)('graceful shutdown (%s)', (kind) => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('on SIGTERM lets an attempt in flight finish, records it, and exits 0', async () => {
    const dir = tempDir();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = await freshStore(kind, dir);
    cleanup.push(() => store.drop());
    const receiver = await startReceiver(() => ({ status: 200, delayMs: 1500 }));
    cleanup.push(() => receiver.close());
    const token = 'hgsk_shutdown_test';
    const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0'], {
      env: {
        ...process.env,
        ...store.env,
        HOOKGATE_ADMIN_TOKEN: token,
        HOOKGATE_ALLOW_NETWORKS: '127.0.0.0/8',
        HOOKGATE_LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanup.push(() => void child.kill('SIGKILL'));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const url = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
    });
    const svix = new Svix(token, { serverUrl: url });
    const app = await svix.application.create({ name: 'shutdown' });
    await svix.endpoint.create(app.id, { url: receiver.url });
    const msg = await svix.message.create(app.id, { eventType: 'e', payload: {} });
    await receiver.waitFor(1);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    // The finished attempt was recorded before exit: a restart has nothing left to send.
    const config = testConfig(join(dir, 'hookgate.db'), { ...store.config, adminToken: token });
    const again = await startHookgate(config);
    cleanup.push(() => again.stop());
    const attempts = await new Svix(token, { serverUrl: again.url! }).messageAttempt.listByMsg(
      app.id,
      msg.id,
    );
    expect(attempts.data.map((a) => a.responseStatusCode)).toEqual([200]);
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests).toHaveLength(1);
  });

  it('hands back attempts still unfinished at the deadline, so the next start retries them at once', async () => {
    const dir = tempDir();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = await freshStore(kind, dir);
    cleanup.push(() => store.drop());
    let hang = true;
    const receiver = await startReceiver(() => (hang ? { status: 200, delayMs: 60_000 } : { status: 200 }));
    cleanup.push(() => receiver.close());
    // A long request timeout makes a long lease (35 s): only the hand-back explains a quick retry.
    const config = testConfig(join(dir, 'hookgate.db'), { ...store.config, requestTimeoutSeconds: 30 });
    const first = await startHookgate(config);
    const svix = new Svix(config.adminToken!, { serverUrl: first.url! });
    const app = await svix.application.create({ name: 'hand-back' });
    await svix.endpoint.create(app.id, { url: receiver.url });
    const msg = await svix.message.create(app.id, { eventType: 'e', payload: {} });
    await receiver.waitFor(1);
    await first.stop(300);
    hang = false;
    const second = await startHookgate(config);
    cleanup.push(() => second.stop());
    const retried = await eventually(
      () => receiver.requests.slice(1).find((r) => r.headers['webhook-id'] === msg.id),
      10_000,
    );
    expect(retried).toBeDefined();
  });
});
