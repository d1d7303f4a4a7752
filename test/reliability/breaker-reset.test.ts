import { afterEach, describe, expect, it } from 'vitest';
import {
  eventually,
  STORES,
  type StoreKind,
  startTestHookgate,
  type TestHookgate,
} from '../helpers/hookgate.js';
import { type Receiver, type Reply, startReceiver } from '../helpers/receiver.js';

/**
 * Fixing an endpoint closes its circuit: its waiting deliveries go at once, not when the open
 * period (a minute here) ends. "At once" is within a few seconds, a twentieth of the open period.
 */
const OPEN_MS = 60_000;
const PROMPTLY_MS = 3000;
const WAITING = 5;

describe.each(STORES)('fixing an endpoint closes its open circuit (%s)', (store: StoreKind) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function receiver(respond: (headers: Record<string, unknown>) => Reply): Promise<Receiver> {
    const r = await startReceiver((req) => respond(req.headers));
    cleanup.push(() => r.close());
    return r;
  }

  /**
   * An endpoint whose first attempt failed and opened its circuit for a minute, with WAITING more
   * messages published behind it (held by the open circuit).
   */
  async function openCircuit(url: string) {
    const hg = await startTestHookgate({
      store,
      // The failed first message retries in a minute too: only a closed circuit sends it sooner.
      retrySchedule: [60, 60],
      health: { openAfterFailures: 1, openBaseMs: OPEN_MS, openMaxMs: OPEN_MS, disableAfterMs: null },
    });
    cleanup.push(() => hg.destroy());
    const app = await hg.svix.application.create({ name: 'broken' });
    const endpoint = await hg.svix.endpoint.create(app.id, { url });
    await hg.svix.message.create(app.id, { eventType: 'e', payload: { n: 'first' } });
    await eventually(
      async () => (await hg.svix.messageAttempt.listByEndpoint(app.id, endpoint.id)).data.length === 1,
    );
    for (let n = 0; n < WAITING; n++)
      await hg.svix.message.create(app.id, { eventType: 'e', payload: { n } });
    const api = async (method: string, path: string, body: unknown) => {
      const res = await fetch(`${hg.url}/api/v1/app/${app.id}/endpoint/${endpoint.id}${path}`, {
        method,
        headers: { authorization: `Bearer ${hg.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBeLessThan(300);
    };
    return { hg, app, endpoint, api };
  }

  /** The waiting messages reach `r` within PROMPTLY_MS of `since`. */
  async function deliveredPromptly(r: Receiver, since: number): Promise<void> {
    const waiting = () => r.requests.filter((q) => /"n":\d/.test(q.body));
    await eventually(() => waiting().length >= WAITING, PROMPTLY_MS + 2000);
    for (const q of waiting()) expect(q.at - since).toBeLessThan(PROMPTLY_MS);
  }

  it('a new URL', async () => {
    const broken = await receiver(() => ({ status: 500 }));
    const fixed = await receiver(() => ({ status: 200 }));
    const { api } = await openCircuit(broken.url);
    const since = Date.now();
    await api('PATCH', '', { url: fixed.url });
    await deliveredPromptly(fixed, since);
  });

  it('new headers', async () => {
    const r = await receiver((h) => ({ status: h['x-fixed'] ? 200 : 500 }));
    const { api } = await openCircuit(r.url);
    const since = Date.now();
    await api('PATCH', '/headers', { headers: { 'x-fixed': 'yes' } });
    await deliveredPromptly(r, since);
  });

  it('a rotated secret', async () => {
    let healthy = false;
    const r = await receiver(() => ({ status: healthy ? 200 : 500 }));
    const { api } = await openCircuit(r.url);
    healthy = true;
    const since = Date.now();
    await api('POST', '/secret/rotate', {});
    await deliveredPromptly(r, since);
  });

  it('recovering it', async () => {
    let healthy = false;
    const r = await receiver(() => ({ status: healthy ? 200 : 500 }));
    const { api } = await openCircuit(r.url);
    healthy = true;
    const since = Date.now();
    await api('POST', '/recover', { since: new Date(since - 60_000).toISOString() });
    await deliveredPromptly(r, since);
  });

  it('enabling it after disabling it: new messages go at once', async () => {
    let healthy = false;
    const r = await receiver(() => ({ status: healthy ? 200 : 500 }));
    const { hg, app, api } = await openCircuit(r.url);
    await api('PATCH', '', { disabled: true });
    healthy = true;
    await api('PATCH', '', { disabled: false });
    const since = Date.now();
    for (let n = 0; n < WAITING; n++)
      await hg.svix.message.create(app.id, { eventType: 'e', payload: { n } });
    await deliveredPromptly(r, since);
  });

  it('but not an edit that does not touch how it is reached', async () => {
    let healthy = false;
    const r = await receiver(() => ({ status: healthy ? 200 : 500 }));
    const { api } = await openCircuit(r.url);
    healthy = true;
    await api('PATCH', '', { description: 'renamed' });
    // The circuit stays open: nothing is sent (a bounded wait for something that must not happen).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(r.requests).toHaveLength(1);
  });
});

/** Receiver control on a success (Svix: `webhook-delivery: disable` is honoured on any answer). */
describe.each(STORES)('a 2xx with webhook-delivery: disable (%s)', (store: StoreKind) => {
  let hg: TestHookgate | undefined;
  let r: Receiver | undefined;
  afterEach(async () => {
    await r?.close();
    await hg?.destroy();
  });

  it('succeeds the delivery and disables the endpoint, telling the operator', async () => {
    hg = await startTestHookgate({ store });
    r = await startReceiver(() => ({ status: 200, headers: { 'webhook-delivery': 'disable' } }));
    const ops = await startReceiver();
    const stopOps = () => ops.close();
    try {
      await hg.svix.operationalWebhookEndpoint.create({ url: ops.url });
      const app = await hg.svix.application.create({ name: 'leaving' });
      const endpoint = await hg.svix.endpoint.create(app.id, { url: r.url });
      await hg.svix.message.create(app.id, { eventType: 'e', payload: {} });
      const disabled = await eventually(async () => {
        const e = await hg!.svix.endpoint.get(app.id, endpoint.id);
        return e.disabled ? e : null;
      });
      expect(disabled.disabled).toBe(true);
      const res = await fetch(`${hg.url}/api/v1/app/${app.id}/endpoint/${endpoint.id}`, {
        headers: { authorization: `Bearer ${hg.adminToken}` },
      });
      expect(((await res.json()) as { disabledReason: string }).disabledReason).toBe('receiver_requested');
      expect((await hg.svix.endpoint.getStats(app.id, endpoint.id)).success).toBe(1);
      const event = await eventually(() => ops.requests.find((q) => q.body.includes('"endpoint.disabled"')));
      expect(JSON.parse(event.body)).toMatchObject({
        type: 'endpoint.disabled',
        data: { appId: app.id, endpointId: endpoint.id, trigger: 'automatic' },
      });
      expect(r.requests).toHaveLength(1);
    } finally {
      await stopOps();
    }
  });
});
