/**
 * The SQLite store's share of a delivery, without HTTP: a backlog of fan-out-1 messages over 16
 * endpoints is claimed in batches and every claimed delivery recorded as a success, one
 * transaction each, as the dispatcher does. Prints the process's CPU time per delivery, claims
 * and records apart (commits included). Run by `npm run bench -- --store-cycle`, one child
 * process per measurement so nothing else shares its CPU account:
 *
 *   node .tmp/bench/store-cycle.js <dist dir> <messages> <batch>
 *
 * The runs of one measurement agree within a few percent (a drain's spread is ten), so it can
 * show a change in the store's cost that a drain would hide; the machine still drifts 10-15% over
 * minutes, so compare builds in interleaved rounds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The parts of Hookgate's Store this uses, as loaded from a build's dist/ (not type-checked against it). */
interface Claimed {
  deliveryId: string;
  appId: string;
  msgId: string;
  endpointId: string;
  url: string;
}
interface StoreUnderTest {
  createApp(input: object): Promise<{ id: string }>;
  createEndpoint(appId: string, input: object): Promise<unknown>;
  publish(appId: string, input: object, now: number): Promise<unknown>;
  claimDue(request: object): Promise<Claimed[]>;
  recordOutcomes(outcomes: object[], health: object): Promise<unknown>;
  close(): Promise<void>;
}

export interface StoreCycleResult {
  deliveries: number;
  claimUs: number;
  recordUs: number;
}

const ENDPOINTS = 16;
const HEALTH = { openAfterFailures: 5, openBaseMs: 30_000, openMaxMs: 600_000, disableAfterMs: null };

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

export async function storeCycle(dist: string, messages: number, batch: number): Promise<StoreCycleResult> {
  const load = async <T>(path: string) => (await import(pathToFileURL(join(dist, path)).href)) as T;
  const { openSqliteStore } = await load<{ openSqliteStore: (o: { path: string }) => StoreUnderTest }>(
    'store/sqlite/index.js',
  );
  const { newId } = await load<{ newId: (prefix: string, now: number) => string }>('domain/ids.js');
  const dir = mkdtempSync(join(tmpdir(), 'hookgate-store-cycle-'));
  const store = openSqliteStore({ path: join(dir, 'store.db') });
  try {
    const apps: string[] = [];
    for (let i = 0; i < ENDPOINTS; i++) {
      const app = await store.createApp({ name: `app ${i}`, uid: null, metadata: {}, rateLimit: null });
      await store.createEndpoint(app.id, {
        url: `http://127.0.0.1:9/ok/${i}`,
        uid: null,
        description: '',
        disabled: false,
        eventTypes: null,
        channels: null,
        metadata: {},
        rateLimit: null,
        secret: `whsec_${Buffer.alloc(32, i).toString('base64')}`,
      });
      apps.push(app.id);
    }
    const payload = JSON.stringify({ type: 'bench.event', data: 'x'.repeat(230) });
    for (let i = 0; i < messages; i += 200) {
      const now = Date.now();
      const publishes: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(i + 200, messages); j++) {
        publishes.push(
          store.publish(
            apps[j % ENDPOINTS]!,
            { eventType: 'bench.event', eventId: null, payload, channels: null },
            now,
          ),
        );
      }
      await Promise.all(publishes);
    }
    let claimUs = 0;
    let recordUs = 0;
    let deliveries = 0;
    for (;;) {
      const now = Date.now();
      let before = cpuUs();
      const claimed = await store.claimDue({
        leaseId: 'bench',
        now,
        leaseUntil: now + 60_000,
        limit: batch,
        inFlightByEndpoint: new Map(),
        perEndpointLimit: messages,
      });
      claimUs += cpuUs() - before;
      if (claimed.length === 0) break;
      const outcomes = claimed.map((d) => ({
        leaseId: 'bench',
        deliveryId: d.deliveryId,
        next: { kind: 'succeeded' },
        attempt: {
          id: newId('atmpt', now),
          appId: d.appId,
          msgId: d.msgId,
          endpointId: d.endpointId,
          url: d.url,
          responseStatusCode: 200,
          response: 'ok',
          durationMs: 1,
          succeeded: true,
          trigger: 'scheduled',
          createdAt: now,
        },
      }));
      before = cpuUs();
      await store.recordOutcomes(outcomes, HEALTH);
      recordUs += cpuUs() - before;
      deliveries += claimed.length;
    }
    if (deliveries !== messages) throw new Error(`delivered ${deliveries} of ${messages}`);
    return { deliveries, claimUs: claimUs / deliveries, recordUs: recordUs / deliveries };
  } finally {
    // Builds before the checkpointer held the process while closing would exit here otherwise.
    const hold = setInterval(() => {}, 1000);
    await store.close();
    clearInterval(hold);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [dist, messages, batch] = process.argv.slice(2);
  if (!dist || !messages || !batch) throw new Error('usage: store-cycle.js <dist dir> <messages> <batch>');
  const result = await storeCycle(dist, Number(messages), Number(batch));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
