/**
 * Crash: 5,000 messages published while the Hookgate process is killed with SIGKILL twice and
 * restarted on the same SQLite file. Every message acknowledged with 202 must reach the receiver
 * at least once, and every copy of a message must carry the same webhook-id.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, freshStore, STORES, tempDir } from '../helpers/hookgate.js';
import { closeServer } from '../helpers/receiver.js';

const MAIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const MESSAGES = 5000;
const PUBLISHERS = 32;
/** Acknowledged-message counts at which the process is killed. */
const KILL_AT = [1500, 3200];

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

describe.each(STORES)('crash (%s)', (kind) => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('loses no acknowledged message across two SIGKILLs, and every copy carries the same webhook-id', async () => {
    const started = Date.now();
    const dir = tempDir();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = await freshStore(kind, dir);
    cleanup.push(() => store.drop());
    // index of the payload -> webhook-ids it arrived with, and how many copies arrived
    const seen = new Map<number, Set<string>>();
    let deliveries = 0;
    let unanswered = 0;
    // Each request is counted when it arrives and answered 20 ms later, so a kill usually finds
    // attempts the receiver has seen but Hookgate has not recorded: those must come again.
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        deliveries++;
        unanswered++;
        const { i } = JSON.parse(Buffer.concat(chunks).toString()) as { i: number };
        const ids = seen.get(i) ?? new Set<string>();
        ids.add(String(req.headers['webhook-id']));
        seen.set(i, ids);
        setTimeout(() => {
          unanswered--;
          if (!res.destroyed) res.writeHead(200).end();
        }, 20);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    cleanup.push(() => closeServer(receiver));

    const token = 'hgsk_crash_5000_token';
    const env = {
      ...process.env,
      ...store.env,
      HOOKGATE_ADMIN_TOKEN: token,
      HOOKGATE_ALLOW_NETWORKS: '127.0.0.0/8',
      HOOKGATE_REQUEST_TIMEOUT: '2',
      HOOKGATE_RETRY_SCHEDULE: '1,1,1,1',
      HOOKGATE_LOG_LEVEL: 'silent',
    };
    const children: ChildProcess[] = [];
    cleanup.push(() => {
      for (const c of children) c.kill('SIGKILL');
    });
    const start = async () => {
      const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0'], { env, stdio: 'pipe' });
      children.push(child);
      return { child, url: await listeningUrl(child) };
    };
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

    let server = await start();
    const appRes = await fetch(`${server.url}/api/v1/app`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'crash' }),
    });
    const appId = ((await appRes.json()) as { id: string }).id;
    const endpointRes = await fetch(`${server.url}/api/v1/app/${appId}/endpoint`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ url: receiverUrl }),
    });
    const endpointId = ((await endpointRes.json()) as { id: string }).id;

    const acked = new Map<number, string>(); // payload index -> message id from the 202
    const kills: Array<{ atAcked: number; deliveredBefore: number; unanswered: number; restartMs: number }> =
      [];
    let failedPublishes = 0;
    let restarting: Promise<void> | null = null;

    const crashAndRestart = async () => {
      const victim = server.child;
      const atAcked = acked.size;
      const deliveredBefore = deliveries;
      const inFlight = unanswered;
      victim.kill('SIGKILL');
      await new Promise((r) => victim.once('exit', r));
      const t0 = Date.now();
      server = await start();
      kills.push({ atAcked, deliveredBefore, unanswered: inFlight, restartMs: Date.now() - t0 });
      restarting = null;
    };

    /** Publishes message `i` until a 202 comes back; a request the crash cut off is repeated. */
    const publish = async (i: number) => {
      for (;;) {
        try {
          const res = await fetch(`${server.url}/api/v1/app/${appId}/msg`, {
            method: 'POST',
            headers,
            // The eventId makes a repeat of a publish that committed before the crash return the
            // first message instead of a second one.
            body: JSON.stringify({ eventType: 'crash.test', eventId: `e-${i}`, payload: { i } }),
          });
          const body = (await res.json()) as { id: string };
          if (res.status === 202) {
            acked.set(i, body.id);
            const next = KILL_AT[kills.length + (restarting ? 1 : 0)];
            if (!restarting && next !== undefined && acked.size >= next) restarting = crashAndRestart();
            return;
          }
          throw new Error(`publish answered ${res.status}`);
        } catch {
          failedPublishes++;
          await (restarting ?? new Promise((r) => setTimeout(r, 50)));
        }
      }
    };

    let nextIndex = 0;
    await Promise.all(
      Array.from({ length: PUBLISHERS }, async () => {
        while (nextIndex < MESSAGES) await publish(nextIndex++);
      }),
    );
    await restarting;
    const publishedMs = Date.now() - started;
    expect(kills).toHaveLength(2);
    expect(acked.size).toBe(MESSAGES);

    await eventually(() => seen.size === MESSAGES, 40_000, 200);
    const deliveredMs = Date.now() - started;
    // Leases of the killed processes run out after 2 s + 5 s; then their attempts are made again,
    // and every delivery ends succeeded.
    await eventually(
      async () => {
        const res = await fetch(`${server.url}/api/v1/app/${appId}/endpoint/${endpointId}/stats`, {
          headers,
        });
        const stats = (await res.json()) as { success: number };
        return stats.success === MESSAGES;
      },
      40_000,
      200,
    );
    const settledMs = Date.now() - started;
    for (const [i, msgId] of acked) expect([...seen.get(i)!]).toEqual([msgId]);
    const duplicates = deliveries - MESSAGES;
    // Attempts the receiver saw but the killed process never recorded were made again.
    const cutOff = kills.reduce((sum, k) => sum + k.unanswered, 0);
    expect(duplicates).toBeGreaterThanOrEqual(cutOff);
    console.info(
      `crash: ${MESSAGES} acked, ${failedPublishes} publish calls cut off and repeated, kills ${JSON.stringify(kills)}, ` +
        `${deliveries} deliveries (${duplicates} duplicates), all published in ${publishedMs} ms, ` +
        `all delivered in ${deliveredMs} ms, all deliveries succeeded in ${settledMs} ms`,
    );
  }, 90_000);
});
