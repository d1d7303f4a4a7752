/**
 * The SSRF guard at connect time. RULE for this file: nothing here may dial any address other
 * than 127.0.0.0/8 or ::1. Names are aimed at private addresses through an injected `resolve`,
 * and every test that touches the network spies on `net.Socket.prototype.connect` to prove it.
 */
import type { LookupAddress } from 'node:dns';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import type { Resolve } from '../../src/delivery/cached-resolve.js';
import { makeGuardedLookup, RefusedAddressError } from '../../src/delivery/guarded-lookup.js';
import { makeSender, type Sender, type SendResult } from '../../src/delivery/sender.js';
import { type Cidr, parseCidrList } from '../../src/domain/ssrf.js';

const ZONE: Record<string, LookupAddress[]> = {
  'internal.test': [{ address: '10.0.0.5', family: 4 }],
  'metadata.test': [{ address: '169.254.169.254', family: 4 }],
  'mixed.test': [
    { address: '8.8.8.8', family: 4 },
    { address: '10.0.0.5', family: 4 },
  ],
  'mixed-v6.test': [
    { address: '2606:4700:4700::1111', family: 6 },
    { address: 'fd00:ec2::254', family: 6 },
  ],
  'public.test': [
    { address: '8.8.8.8', family: 4 },
    { address: '2606:4700:4700::1111', family: 6 },
  ],
  'loopback.test': [{ address: '127.0.0.1', family: 4 }],
  'mapped.test': [{ address: '::ffff:127.0.0.1', family: 6 }],
  'v6only.test': [{ address: '2606:4700:4700::1111', family: 6 }],
};

/** A resolver that answers from ZONE and records every name it was asked for. */
function fakeResolve() {
  return vi.fn<Resolve>(async (hostname) => {
    const records = ZONE[hostname];
    if (!records) {
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = 'ENOTFOUND';
      throw err;
    }
    return records;
  });
}

interface LookupOutcome {
  err: NodeJS.ErrnoException | null;
  address: string | LookupAddress[];
  family: number | undefined;
}

function lookup(
  allowed: readonly Cidr[],
  resolve: Resolve,
  hostname: string,
  options: { all?: boolean; family?: number } = {},
): Promise<LookupOutcome> {
  const guarded = makeGuardedLookup(allowed, resolve);
  return new Promise((done) => {
    guarded(hostname, options, (err, address, family) => done({ err, address, family }));
  });
}

const LOOPBACK = parseCidrList('127.0.0.0/8,::1/128');

describe('makeGuardedLookup', () => {
  it.each([false, true])('refuses a name that resolves to a private address (all: %s)', async (all) => {
    const resolve = fakeResolve();
    const { err } = await lookup([], resolve, 'internal.test', { all });
    expect(err).toBeInstanceOf(RefusedAddressError);
    expect((err as RefusedAddressError).code).toBe('HOOKGATE_SSRF_REFUSED');
    expect(err!.message).toContain('internal.test');
    expect(err!.message).toContain('10.0.0.5');
    expect(resolve).toHaveBeenCalledWith('internal.test');
  });

  it('refuses a name that resolves to the metadata service', async () => {
    const { err } = await lookup([], fakeResolve(), 'metadata.test');
    expect((err as RefusedAddressError).code).toBe('HOOKGATE_SSRF_REFUSED');
    expect(err!.message).toContain('169.254.169.254');
  });

  it.each([
    ['mixed.test', {}],
    ['mixed.test', { all: true }],
    ['mixed-v6.test', { all: true }],
    // Asking for IPv4 only must not hide a private IPv6 record of the same name.
    ['mixed-v6.test', { family: 4 }],
  ])('refuses the whole name when any record is private (%s, %j)', async (hostname, options) => {
    const { err } = await lookup([], fakeResolve(), hostname, options);
    expect((err as RefusedAddressError).code).toBe('HOOKGATE_SSRF_REFUSED');
  });

  it('refuses a name that resolves to an IPv4-mapped loopback address', async () => {
    const { err } = await lookup([], fakeResolve(), 'mapped.test');
    expect((err as RefusedAddressError).code).toBe('HOOKGATE_SSRF_REFUSED');
  });

  it('passes a public answer through as one address when all is false', async () => {
    const outcome = await lookup([], fakeResolve(), 'public.test', { all: false });
    expect(outcome).toEqual({ err: null, address: '8.8.8.8', family: 4 });
  });

  it('passes a public answer through as the full list when all is true', async () => {
    const outcome = await lookup([], fakeResolve(), 'public.test', { all: true });
    expect(outcome.err).toBeNull();
    expect(outcome.address).toEqual(ZONE['public.test']);
  });

  it('honours the requested family', async () => {
    expect(await lookup([], fakeResolve(), 'public.test', { family: 6 })).toEqual({
      err: null,
      address: '2606:4700:4700::1111',
      family: 6,
    });
    expect((await lookup([], fakeResolve(), 'public.test', { family: 4, all: true })).address).toEqual([
      { address: '8.8.8.8', family: 4 },
    ]);
  });

  it('answers ENOTFOUND when no record of the requested family exists', async () => {
    const { err } = await lookup([], fakeResolve(), 'v6only.test', { family: 4 });
    expect(err?.code).toBe('ENOTFOUND');
  });

  it('passes resolver errors through', async () => {
    const { err } = await lookup([], fakeResolve(), 'nowhere.test');
    expect(err?.code).toBe('ENOTFOUND');
  });

  it.each([false, true])('passes an allowed loopback answer through (all: %s)', async (all) => {
    const outcome = await lookup(LOOPBACK, fakeResolve(), 'loopback.test', { all });
    expect(outcome.err).toBeNull();
    if (all) expect(outcome.address).toEqual([{ address: '127.0.0.1', family: 4 }]);
    else expect(outcome).toEqual({ err: null, address: '127.0.0.1', family: 4 });
  });

  it('still refuses a private answer outside the allow list', async () => {
    const { err } = await lookup(LOOPBACK, fakeResolve(), 'internal.test');
    expect((err as RefusedAddressError).code).toBe('HOOKGATE_SSRF_REFUSED');
  });
});

// ---------------------------------------------------------------------------------------------
// The sender, with a spy on every socket connect.

/** The hosts of every `Socket#connect` call, whatever argument shape Node used. */
function connectHosts(spy: MockInstance): string[] {
  return spy.mock.calls.map((args) => {
    let first: unknown = args[0];
    if (Array.isArray(first)) first = first[0];
    if (first && typeof first === 'object') return String((first as { host?: string }).host ?? 'localhost');
    return typeof args[1] === 'string' ? args[1] : 'localhost';
  });
}

function isLoopbackHost(host: string): boolean {
  return /^127\./.test(host) || host === '::1' || host === '[::1]';
}

/** A host that is an IP literal outside loopback: something this file must never dial. */
function isForbiddenLiteral(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return net.isIP(bare) !== 0 && !isLoopbackHost(bare);
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function startServer(handler: Handler): Promise<{ server: Server; url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/hook`, hits: () => hits };
}

function stopServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

describe('sender: refused destinations never get a socket', () => {
  let connectSpy: MockInstance;
  let sender: Sender<SendResult> | undefined;

  beforeEach(() => {
    connectSpy = vi.spyOn(net.Socket.prototype, 'connect');
  });
  afterEach(async () => {
    await sender?.close();
    sender = undefined;
    const hosts = connectHosts(connectSpy);
    connectSpy.mockRestore();
    expect(hosts.filter(isForbiddenLiteral)).toEqual([]);
  });

  it('refuses a name resolving to 169.254.169.254 at lookup, before any connection', async () => {
    const resolve = fakeResolve();
    sender = makeSender({ allowNetworks: [], timeoutMs: 2000, resolve });
    const result = await sender.send({
      url: 'http://metadata.test/latest/meta-data/',
      headers: {},
      body: '{}',
    });
    expect(result.statusCode).toBe(0);
    expect(result.response).toContain('HOOKGATE_SSRF_REFUSED');
    expect(result.response).toContain('169.254.169.254');
    expect(result.retryAfter).toBeUndefined();
    expect(resolve).toHaveBeenCalledWith('metadata.test');
  });

  it('refuses a name resolving to a private address, and a mixed answer', async () => {
    const resolve = fakeResolve();
    sender = makeSender({ allowNetworks: [], timeoutMs: 2000, resolve });
    for (const host of ['internal.test', 'mixed.test']) {
      const result = await sender.send({ url: `http://${host}/`, headers: {}, body: '{}' });
      expect(result.statusCode).toBe(0);
      expect(result.response).toContain('refused to connect');
    }
    expect(resolve.mock.calls.map(([h]) => h)).toEqual(
      expect.arrayContaining(['internal.test', 'mixed.test']),
    );
  });

  it.each([
    'http://10.1.2.3/',
    'http://[fc00::1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://2130706433/',
    'http://0x7f.0.0.1/',
    'http://[::ffff:127.0.0.1]:9/',
    'http://[::1]:9/',
    'http://0.0.0.0:9/',
  ])('refuses the IP literal in %s without resolving or connecting', async (url) => {
    const resolve = fakeResolve();
    sender = makeSender({ allowNetworks: [], timeoutMs: 2000, resolve });
    const result = await sender.send({ url, headers: {}, body: '{}' });
    expect(result.statusCode).toBe(0);
    expect(result.response).toContain('HOOKGATE_SSRF_REFUSED');
    expect(resolve).not.toHaveBeenCalled();
    expect(connectSpy).not.toHaveBeenCalled();
  });

  it('reports an invalid URL as a failed attempt instead of throwing', async () => {
    sender = makeSender({ allowNetworks: [], timeoutMs: 2000, resolve: fakeResolve() });
    const result = await sender.send({ url: 'not a url', headers: {}, body: '{}' });
    expect(result.statusCode).toBe(0);
    expect(connectSpy).not.toHaveBeenCalled();
  });
});

describe('sender: delivery to an allowed loopback receiver', () => {
  let connectSpy: MockInstance;
  let server: Server;
  let url: string;
  let hits: () => number;
  let received: Array<{ method: string; headers: IncomingMessage['headers'] }>;
  let handler: Handler;
  const senders: Sender<SendResult>[] = [];

  function sender(allowNetworks: readonly Cidr[], extra: { responseBodyLimit?: number } = {}) {
    const resolve = fakeResolve();
    const s = makeSender({ allowNetworks, timeoutMs: 2000, resolve, ...extra });
    senders.push(s);
    return { s, resolve };
  }

  beforeEach(async () => {
    received = [];
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('hello from 127.0.0.1');
    };
    ({ server, url, hits } = await startServer((req, res) => {
      received.push({ method: req.method ?? '', headers: req.headers });
      handler(req, res);
    }));
    connectSpy = vi.spyOn(net.Socket.prototype, 'connect');
  });
  afterEach(async () => {
    await Promise.all(senders.splice(0).map((s) => s.close()));
    await stopServer(server);
    const hosts = connectHosts(connectSpy);
    connectSpy.mockRestore();
    expect(hosts.filter(isForbiddenLiteral)).toEqual([]);
  });

  it('delivers to 127.0.0.1 when 127.0.0.0/8 is allowed and returns status and body', async () => {
    const { s } = sender(parseCidrList('127.0.0.0/8'));
    const result = await s.send({
      url,
      headers: { 'content-type': 'application/json', 'x-foo': 'bar' },
      body: '{}',
    });
    expect(result).toMatchObject({ statusCode: 200, response: 'hello from 127.0.0.1' });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(received).toHaveLength(1);
    expect(received[0]!.method).toBe('POST');
    expect(received[0]!.headers['x-foo']).toBe('bar');
    expect(connectHosts(connectSpy).every(isLoopbackHost)).toBe(true);
  });

  it('refuses the same 127.0.0.1 receiver without the allow list', async () => {
    const { s, resolve } = sender([]);
    const result = await s.send({ url, headers: {}, body: '{}' });
    expect(result.statusCode).toBe(0);
    expect(result.response).toContain('HOOKGATE_SSRF_REFUSED');
    expect(resolve).not.toHaveBeenCalled();
    expect(connectSpy).not.toHaveBeenCalled();
    expect(hits()).toBe(0);
  });

  it('refuses a name resolving to 127.0.0.1 without the allow list, and delivers with it', async () => {
    const port = new URL(url).port;
    const named = `http://loopback.test:${port}/hook`;

    const refused = sender([]);
    const r1 = await refused.s.send({ url: named, headers: {}, body: '{}' });
    expect(r1.statusCode).toBe(0);
    expect(r1.response).toContain('HOOKGATE_SSRF_REFUSED');
    expect(refused.resolve).toHaveBeenCalledWith('loopback.test');
    expect(hits()).toBe(0);

    const allowed = sender(parseCidrList('127.0.0.0/8'));
    const r2 = await allowed.s.send({ url: named, headers: {}, body: '{}' });
    expect(r2).toMatchObject({ statusCode: 200, response: 'hello from 127.0.0.1' });
    expect(allowed.resolve).toHaveBeenCalledWith('loopback.test');
    expect(hits()).toBe(1);
  });

  it('does not follow a redirect to the metadata service: the attempt records the 302', async () => {
    handler = (_req, res) => {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      res.end('moved');
    };
    const { s, resolve } = sender(parseCidrList('127.0.0.0/8'));
    const result = await s.send({ url, headers: {}, body: '{}' });
    expect(result.statusCode).toBe(302);
    expect(result.response).toBe('moved');
    expect(hits()).toBe(1);
    expect(resolve).not.toHaveBeenCalled();
    const hosts = connectHosts(connectSpy);
    expect(hosts.length).toBeGreaterThan(0);
    expect(hosts.every(isLoopbackHost)).toBe(true);
  });

  it('does not follow a redirect to a name either', async () => {
    handler = (_req, res) => {
      res.writeHead(307, { location: 'http://metadata.test/' });
      res.end();
    };
    const { s, resolve } = sender(parseCidrList('127.0.0.0/8'));
    const result = await s.send({ url, headers: {}, body: '{}' });
    expect(result.statusCode).toBe(307);
    expect(resolve).not.toHaveBeenCalled();
  });

  it('truncates a response body longer than responseBodyLimit', async () => {
    handler = (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('x'.repeat(1000));
    };
    const { s } = sender(parseCidrList('127.0.0.0/8'), { responseBodyLimit: 100 });
    const result = await s.send({ url, headers: {}, body: '{}' });
    expect(result.statusCode).toBe(500);
    expect(result.response).toBe('x'.repeat(100));
  });

  it('truncates a large streamed body without waiting for the rest of it', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = 'y'.repeat(64 * 1024);
      for (let i = 0; i < 64; i++) res.write(chunk); // 4 MiB
      res.end();
    };
    const { s } = sender(parseCidrList('127.0.0.0/8'), { responseBodyLimit: 100 });
    const result = await s.send({ url, headers: {}, body: '{}' });
    expect(result.statusCode).toBe(200);
    expect(result.response).toBe('y'.repeat(100));
  });

  it('keeps a body no longer than the limit whole, and its connection for the next attempt', async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.end('z'.repeat(100));
    };
    let connections = 0;
    server.on('connection', () => connections++);
    const { s } = sender(parseCidrList('127.0.0.0/8'), { responseBodyLimit: 100 });
    for (let i = 0; i < 3; i++) {
      expect((await s.send({ url, headers: {}, body: '{}' })).response).toBe('z'.repeat(100));
      // Past the answer's own turn, so the pool has its connection back before the next send.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(connections).toBe(1);
  });

  it('returns the Retry-After header of the response', async () => {
    handler = (_req, res) => {
      res.writeHead(429, { 'retry-after': '120' });
      res.end();
    };
    const { s } = sender(parseCidrList('127.0.0.0/8'));
    expect(await s.send({ url, headers: {}, body: '{}' })).toMatchObject({
      statusCode: 429,
      retryAfter: '120',
    });
  });
});
