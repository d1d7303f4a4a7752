/**
 * The sender thread (src/delivery/threaded-sender.ts) against real receivers on 127.0.0.1. The
 * thread runs the compiled `dist/delivery/sender-thread.js` (`npm test` builds first); what it
 * runs, `makeSender`, has its own tests (ssrf-connect, misbehaving-receivers). These prove the
 * hand-over: every answer reaches the request it belongs to, unchanged, and a thread that dies
 * or closes leaves no request unanswered (a dying thread's requests are answered as lost).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { LostSend, SendResult } from '../../src/delivery/sender.js';
import { type SenderThreadOptions, startSenderThread } from '../../src/delivery/threaded-sender.js';
import { parseCidrList } from '../../src/domain/ssrf.js';
import { closeServer, startReceiver } from '../helpers/receiver.js';

const ENTRY = new URL('../../dist/delivery/sender-thread.js', import.meta.url);
const STATUSES = [200, 201, 202, 400, 500, 503];
const LOOPBACK: SenderThreadOptions = { allowNetworks: parseCidrList('127.0.0.0/8'), timeoutMs: 2000 };

/**
 * A thread that speaks the protocol without sending anything: it answers 200 with the URL as the
 * body, dies (an uncaught throw) on a request whose URL contains "crash", and exits with code 3
 * on one whose URL contains "exit".
 */
const FAKE_THREAD = new URL(
  `data:text/javascript,${encodeURIComponent(`
import { parentPort } from 'node:worker_threads';
parentPort.on('message', (m) => {
  if (m.kind === 'close') return parentPort.close();
  for (const [id, url] of m.batch) if (url.includes('crash')) throw new Error('thread crashed');
  for (const [id, url] of m.batch) if (url.includes('exit')) process.exit(3);
  const batch = m.batch.map(([id, url]) => [id, { statusCode: 200, response: url, durationMs: 1 }]);
  parentPort.postMessage({ kind: 'results', batch });
});
parentPort.postMessage({ kind: 'ready' });
`)}`,
);

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function thread(options = LOOPBACK, hooks: Parameters<typeof startSenderThread>[1] = {}) {
  const sender = await startSenderThread(options, { entry: ENTRY, ...hooks });
  cleanup.push(() => sender.close());
  return sender;
}

/** The result as an answer: the test fails if the send was lost. */
function answered(result: SendResult | LostSend): SendResult {
  if ('lost' in result) throw new Error(`send lost: ${result.lost}`);
  return result;
}

/** A server on 127.0.0.1 that never answers, counting the connections it gets. */
async function startSilent(): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server: Server = createServer(() => {});
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => closeServer(server));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    connections: () => connections,
  };
}

describe('sender thread', () => {
  it('pairs every answer with its request when many are in flight at once', async () => {
    const receiver = await startReceiver((req) => ({
      status: STATUSES[Number(req.headers['x-n']) % STATUSES.length]!,
      body: `answer to ${req.body}`,
      headers: { 'retry-after': String(req.headers['x-n']) },
      delayMs: Number(req.headers['x-n']) % 5,
    }));
    cleanup.push(() => receiver.close());
    const sender = await thread();
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, n) =>
        sender.send({ url: `${receiver.url}/n${n}`, headers: { 'x-n': String(n) }, body: `body ${n}` }),
      ),
    );
    results.forEach((result, n) => {
      expect(result).toMatchObject({
        statusCode: STATUSES[n % STATUSES.length],
        response: `answer to body ${n}`,
        retryAfter: String(n),
      });
    });
    expect(receiver.requests.map((r) => r.url).sort()).toEqual(
      Array.from({ length: 300 }, (_, n) => `/hook/n${n}`).sort(),
    );
  });

  it('carries bytes that are not UTF-8 both ways: the request body sent, the answer kept', async () => {
    const hostile = Buffer.from([0x61, 0x00, 0x62, 0xff, 0xfe]);
    const receiver = await startReceiver(() => ({ status: 200, body: hostile }));
    cleanup.push(() => receiver.close());
    const sender = await thread();
    const result = answered(await sender.send({ url: receiver.url, headers: {}, body: hostile }));
    expect(receiver.requests[0]!.raw.equals(hostile)).toBe(true);
    expect(Buffer.from(result.response).equals(hostile)).toBe(true);
  });

  it('passes the receiver control header and the request headers through unchanged', async () => {
    const receiver = await startReceiver(() => ({
      status: 410,
      body: 'gone',
      headers: { 'webhook-delivery': 'disable' },
    }));
    cleanup.push(() => receiver.close());
    const sender = await thread();
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-signature': 'v1,abc',
      'content-type': 'application/json',
    };
    const result = await sender.send({ url: receiver.url, headers, body: '{"a":1}' });
    expect(result).toMatchObject({ statusCode: 410, response: 'gone', deliveryControl: 'disable' });
    expect(receiver.requests[0]!.headers).toMatchObject(headers);
    expect(receiver.requests[0]!.body).toBe('{"a":1}');
  });

  it('applies the SSRF guard in the thread: loopback refused unless allowed, before any connection', async () => {
    const silent = await startSilent();
    const sender = await thread({ allowNetworks: [], timeoutMs: 2000 });
    const result = answered(await sender.send({ url: silent.url, headers: {}, body: '{}' }));
    expect(result.statusCode).toBe(0);
    expect(result.response).toMatch(/refused/i);
    expect(silent.connections()).toBe(0);
  });

  it('ends an attempt the receiver never answers at the timeout', async () => {
    const silent = await startSilent();
    const sender = await thread({ ...LOOPBACK, timeoutMs: 300 });
    const result = answered(await sender.send({ url: silent.url, headers: {}, body: '{}' }));
    expect(result).toMatchObject({ statusCode: 0, response: expect.stringMatching(/timeout/) });
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
    expect(silent.connections()).toBe(1);
  });

  it('answers what is in flight when closed, and every send after', async () => {
    const silent = await startSilent();
    const sender = await startSenderThread({ ...LOOPBACK, timeoutMs: 60_000 }, { entry: ENTRY });
    const inFlight = sender.send({ url: silent.url, headers: {}, body: '{}' });
    while (silent.connections() === 0) await new Promise((r) => setTimeout(r, 10));
    await sender.close();
    expect(await inFlight).toMatchObject({ statusCode: 0 });
    expect(await sender.send({ url: silent.url, headers: {}, body: '{}' })).toMatchObject({
      statusCode: 0,
      response: 'sender closed',
    });
  });

  it('fails the requests of a thread that dies, reports it, and sends the next ones on a new thread', async () => {
    const errors: Error[] = [];
    const sender = await startSenderThread(LOOPBACK, { entry: FAKE_THREAD, onError: (e) => errors.push(e) });
    cleanup.push(() => sender.close());
    expect(await sender.send({ url: 'http://127.0.0.1:9/ok', headers: {}, body: '' })).toMatchObject({
      statusCode: 200,
    });
    const lost = await Promise.all([
      sender.send({ url: 'http://127.0.0.1:9/crash', headers: {}, body: '' }),
      sender.send({ url: 'http://127.0.0.1:9/same-batch', headers: {}, body: '' }),
    ]);
    for (const result of lost) {
      expect(result).toEqual({ lost: 'sender thread failed: thread crashed before answering' });
    }
    expect(errors.map((e) => e.message)).toEqual(['sender thread failed: thread crashed']);
    expect(await sender.send({ url: 'http://127.0.0.1:9/after', headers: {}, body: '' })).toMatchObject({
      statusCode: 200,
      response: 'http://127.0.0.1:9/after',
    });
    expect(await sender.send({ url: 'http://127.0.0.1:9/exit', headers: {}, body: '' })).toEqual({
      lost: 'sender thread exited with code 3 before answering',
    });
    expect(errors.map((e) => e.message)).toEqual([
      'sender thread failed: thread crashed',
      'sender thread exited with code 3',
    ]);
  });

  it('refuses to start when the thread exits before it is ready', async () => {
    const quitter = new URL(`data:text/javascript,${encodeURIComponent('process.exit(2)')}`);
    await expect(startSenderThread(LOOPBACK, { entry: quitter })).rejects.toThrow(
      'sender thread exited with code 2 before it was ready',
    );
  });

  it('refuses to start when the thread cannot load', async () => {
    const missing = new URL('../../dist/delivery/no-such-thread.js', import.meta.url);
    await expect(startSenderThread(LOOPBACK, { entry: missing })).rejects.toThrow(/no-such-thread/);
  });
});
