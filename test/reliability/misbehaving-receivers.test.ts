/**
 * Receivers that misbehave the way production ones do. Each case ends in the documented state
 * (docs/reliability.md) with every attempt recorded and visible through the API. Every server
 * here listens on 127.0.0.1, and a spy on `net.Socket.prototype.connect` proves nothing else was
 * dialed (a redirect to a private address in particular).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { MessageAttemptOut } from 'svix';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { makeSender } from '../../src/delivery/sender.js';
import { parseCidrList } from '../../src/domain/ssrf.js';
import { eventually, STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { closeServer, type Receiver, type Reply, startReceiver } from '../helpers/receiver.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** An HTTP server on 127.0.0.1 that hands each request (body read) to `handler`. */
async function startHttp(
  handler: Handler,
): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    hits: () => hits,
    close: () => closeServer(server),
  };
}

/** A TCP server on 127.0.0.1 that answers every connection with `reply` bytes, then closes it. */
async function startRawTcp(
  reply: string,
): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    hits++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', () => socket.end(reply));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function connectHosts(spy: MockInstance): string[] {
  return spy.mock.calls.map((args) => {
    let first: unknown = args[0];
    if (Array.isArray(first)) first = first[0];
    if (first && typeof first === 'object') return String((first as { host?: string }).host ?? 'localhost');
    return typeof args[1] === 'string' ? args[1] : 'localhost';
  });
}

describe.each(STORES)('misbehaving receivers (%s)', (store) => {
  const cleanup: Array<() => Promise<void>> = [];
  let connectSpy: MockInstance;
  beforeEach(() => {
    connectSpy = vi.spyOn(net.Socket.prototype, 'connect');
  });
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
    const hosts = connectHosts(connectSpy);
    connectSpy.mockRestore();
    // Only loopback was ever dialed.
    expect(hosts.filter((h) => !/^(127\.|::1$|\[::1\]$|localhost$)/.test(h))).toEqual([]);
  });

  async function hookgate(schedule: number[], requestTimeoutSeconds = 5): Promise<TestHookgate> {
    const hg = await startTestHookgate({ store, retrySchedule: schedule, requestTimeoutSeconds });
    cleanup.push(() => hg.destroy());
    return hg;
  }

  async function receiver(respond: (n: number) => Reply): Promise<Receiver> {
    const r = await startReceiver((_req, n) => respond(n));
    cleanup.push(() => r.close());
    return r;
  }

  /** One app, one endpoint at `url`, one message; returns their ids. */
  async function publishTo(hg: TestHookgate, url: string) {
    const app = await hg.svix.application.create({ name: 'misbehaving' });
    const endpoint = await hg.svix.endpoint.create(app.id, { url });
    const msg = await hg.svix.message.create(app.id, { eventType: 'order.paid', payload: { n: 1 } });
    return { appId: app.id, endpointId: endpoint.id, msgId: msg.id };
  }

  /** Waits for the delivery to reach `statusText`, then returns its attempts, oldest first. */
  async function settled(
    hg: TestHookgate,
    ids: { appId: string; msgId: string },
    statusText: 'success' | 'fail',
    timeoutMs = 15_000,
  ): Promise<MessageAttemptOut[]> {
    await eventually(async () => {
      const [d] = (await hg.svix.messageAttempt.listAttemptedDestinations(ids.appId, ids.msgId)).data;
      return d?.statusText === statusText && d.nextAttempt === null;
    }, timeoutMs);
    const attempts = await hg.svix.messageAttempt.listByMsg(ids.appId, ids.msgId, { limit: 100 });
    return attempts.data.reverse();
  }

  it('retries 500s on the schedule, then fails the delivery: three attempts, each recorded with its body', async () => {
    const hg = await hookgate([1, 1]);
    const r = await receiver(() => ({ status: 500, body: 'internal oops' }));
    const ids = await publishTo(hg, r.url);
    const attempts = await settled(hg, ids, 'fail');
    expect(attempts.map((a) => [a.responseStatusCode, a.statusText, a.response])).toEqual([
      [500, 'fail', 'internal oops'],
      [500, 'fail', 'internal oops'],
      [500, 'fail', 'internal oops'],
    ]);
    expect(r.requests).toHaveLength(3);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([ids.msgId]));
  });

  it('times out a receiver that never answers, records status 0 and retries', async () => {
    const hg = await hookgate([1], 1);
    const r = await receiver(() => ({ status: 200, delayMs: 4000 }));
    const ids = await publishTo(hg, r.url);
    const attempts = await settled(hg, ids, 'fail');
    expect(attempts).toHaveLength(2);
    for (const a of attempts) {
      expect(a.responseStatusCode).toBe(0);
      expect(a.response).toMatch(/timeout/i);
      expect(a.responseDurationMs).toBeLessThan(2000);
    }
  });

  it('gives up on a body trickled past the timeout, keeping the status line as the answer', async () => {
    const hg = await hookgate([1], 1);
    const server = await startHttp((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 100);
      res.on('close', () => clearInterval(timer));
      setTimeout(() => res.end(), 5000).unref();
    });
    cleanup.push(() => server.close());
    const ids = await publishTo(hg, server.url);
    const [attempt, ...more] = await settled(hg, ids, 'success');
    expect(more).toEqual([]);
    // The receiver said 200; a body that never finishes does not undo it, nor hold a slot.
    expect(attempt!.responseStatusCode).toBe(200);
    expect(attempt!.response).toMatch(/^\(response body not read: timeout/);
    expect(attempt!.responseDurationMs).toBeLessThan(2000);
  });

  it('retries a connection reset before any response (status 0), then fails', async () => {
    const hg = await hookgate([1]);
    const server = await startHttp((req) => req.socket.resetAndDestroy());
    cleanup.push(() => server.close());
    const ids = await publishTo(hg, server.url);
    const attempts = await settled(hg, ids, 'fail');
    expect(attempts).toHaveLength(2);
    expect(server.hits()).toBe(2);
    for (const a of attempts) {
      expect(a.responseStatusCode).toBe(0);
      expect(a.response).toMatch(/ECONNRESET|socket|closed/i);
    }
  });

  it('keeps a 503 whose connection is reset mid-body a failure, and retries it', async () => {
    const hg = await hookgate([1]);
    let n = 0;
    const server = await startHttp((req, res) => {
      if (n++ > 0) return void res.writeHead(200).end('ok');
      res.writeHead(503, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => req.socket.resetAndDestroy(), 50);
    });
    cleanup.push(() => server.close());
    const ids = await publishTo(hg, server.url);
    const attempts = await settled(hg, ids, 'success');
    expect(attempts.map((a) => a.responseStatusCode)).toEqual([503, 200]);
    expect(attempts[0]!.response).toMatch(/^\(response body not read:/);
  });

  it('does not follow a 302 to a private address: the attempt records 302 and nothing else is dialed', async () => {
    const hg = await hookgate([1]);
    const r = await receiver(() => ({
      status: 302,
      headers: { location: 'http://169.254.169.254/latest/meta-data/' },
    }));
    const ids = await publishTo(hg, r.url);
    const attempts = await settled(hg, ids, 'fail');
    expect(attempts.map((a) => a.responseStatusCode)).toEqual([302, 302]);
    expect(r.requests).toHaveLength(2);
    // afterEach asserts that every connect went to loopback.
  });

  it.each([429, 503])('waits as long as Retry-After asks after a %i, then delivers', async (status) => {
    const hg = await hookgate([1, 1]);
    const r = await receiver((n) =>
      n === 0 ? { status, headers: { 'retry-after': '3' } } : { status: 200 },
    );
    const ids = await publishTo(hg, r.url);
    const attempts = await settled(hg, ids, 'success');
    expect(attempts.map((a) => a.responseStatusCode)).toEqual([status, 200]);
    // The schedule alone would retry after ~1 s; the receiver asked for 3.
    expect(r.requests[1]!.at - r.requests[0]!.at).toBeGreaterThanOrEqual(2900);
  });

  it('disables the endpoint on 410 Gone: one attempt, delivery failed, later messages not sent', async () => {
    const hg = await hookgate([1, 1]);
    const r = await receiver(() => ({ status: 410 }));
    const ids = await publishTo(hg, r.url);
    const attempts = await settled(hg, ids, 'fail');
    expect(attempts.map((a) => a.responseStatusCode)).toEqual([410]);
    expect((await hg.svix.endpoint.get(ids.appId, ids.endpointId)).disabled).toBe(true);
    await hg.svix.message.create(ids.appId, { eventType: 'order.paid', payload: { n: 2 } });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(r.requests).toHaveLength(1);
  });

  it('disables the endpoint like 410 when a 500 carries webhook-delivery: disable', async () => {
    const hg = await hookgate([1, 1]);
    const r = await receiver(() => ({ status: 500, headers: { 'webhook-delivery': 'disable' } }));
    const ids = await publishTo(hg, r.url);
    const attempts = await settled(hg, ids, 'fail');
    expect(attempts.map((a) => a.responseStatusCode)).toEqual([500]);
    expect((await hg.svix.endpoint.get(ids.appId, ids.endpointId)).disabled).toBe(true);
    expect(await hg.svix.endpoint.getStats(ids.appId, ids.endpointId)).toMatchObject({ fail: 1, pending: 0 });
    await hg.svix.message.create(ids.appId, { eventType: 'order.paid', payload: { n: 2 } });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(r.requests).toHaveLength(1);
  });

  // Issue 15, item 8: the instruction is honoured on a success too (Svix honours it on any answer).
  it('keeps a 2xx with webhook-delivery: disable a success and disables the endpoint', async () => {
    const hg = await hookgate([1, 1]);
    const r = await receiver(() => ({ status: 200, headers: { 'webhook-delivery': 'disable' } }));
    const ids = await publishTo(hg, r.url);
    const attempts = await settled(hg, ids, 'success');
    expect(attempts.map((a) => a.responseStatusCode)).toEqual([200]);
    expect((await hg.svix.endpoint.get(ids.appId, ids.endpointId)).disabled).toBe(true);
  });

  it('fails only this message when a 503 carries webhook-delivery: abort-message, retries left', async () => {
    const hg = await hookgate([1, 1, 1]);
    const r = await receiver((n) =>
      n === 0 ? { status: 503, headers: { 'webhook-delivery': 'abort-message' } } : { status: 200 },
    );
    const ids = await publishTo(hg, r.url);
    const attempts = await settled(hg, ids, 'fail');
    expect(attempts.map((a) => a.responseStatusCode)).toEqual([503]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(r.requests).toHaveLength(1); // no retry
    // The endpoint stays enabled: the next message is delivered.
    expect((await hg.svix.endpoint.get(ids.appId, ids.endpointId)).disabled).toBe(false);
    await hg.svix.message.create(ids.appId, { eventType: 'order.paid', payload: { n: 2 } });
    await r.waitFor(2, 5000);
  });

  it('records an invalid HTTP response as a network error (status 0) and retries it', async () => {
    const hg = await hookgate([1]);
    const server = await startRawTcp('SPLORK 999 what\r\n\x00\x01garbage\r\n\r\n');
    cleanup.push(() => server.close());
    const ids = await publishTo(hg, server.url);
    const attempts = await settled(hg, ids, 'fail');
    expect(attempts).toHaveLength(2);
    expect(server.hits()).toBeGreaterThanOrEqual(2);
    for (const a of attempts) {
      expect(a.responseStatusCode).toBe(0);
      expect(a.response).toMatch(/does not match the HTTP\/1\.1 protocol|HPE_/);
    }
  });

  it('surfaces the webhook-delivery header from the sender, repeated lines joined', async () => {
    const server = await startHttp((_req, res) => {
      res.setHeader('webhook-delivery', ['abort-message', 'disable']);
      res.writeHead(500).end();
    });
    cleanup.push(() => server.close());
    const sender = makeSender({ allowNetworks: parseCidrList('127.0.0.0/8'), timeoutMs: 2000 });
    cleanup.push(() => sender.close());
    const result = await sender.send({ url: server.url, headers: {}, body: '{}' });
    expect(result).toMatchObject({ statusCode: 500, deliveryControl: 'abort-message, disable' });
  });
});
