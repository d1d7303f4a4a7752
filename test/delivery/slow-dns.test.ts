/**
 * The sender with a name whose resolution never answers. RULE as in ssrf-connect.test.ts: names
 * are resolved by an injected resolver, and nothing but 127.0.0.1 is ever dialed.
 */
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import type { Resolve } from '../../src/delivery/cached-resolve.js';
import { makeSender, type Sender, type SendResult } from '../../src/delivery/sender.js';
import { parseCidrList } from '../../src/domain/ssrf.js';

describe('sender: a name that never resolves', () => {
  let server: Server;
  let port: number;
  let sender: Sender<SendResult> | undefined;
  let connectSpy: MockInstance;

  beforeEach(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    connectSpy = vi.spyOn(net.Socket.prototype, 'connect');
  });
  afterEach(async () => {
    await sender?.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    const dialed = connectSpy.mock.calls.map((args) => {
      const first = Array.isArray(args[0]) ? args[0][0] : args[0];
      return String((first as { host?: string } | undefined)?.host ?? '');
    });
    connectSpy.mockRestore();
    // Names are dialed through the guarded lookup; an address literal must be loopback.
    expect(dialed.filter((host) => net.isIP(host) !== 0 && host !== '127.0.0.1')).toEqual([]);
  });

  it("does not stall another name's delivery, however many sends wait for it", async () => {
    const asked: string[] = [];
    const resolve: Resolve = (hostname) => {
      asked.push(hostname);
      return hostname === 'hang.test'
        ? new Promise(() => {})
        : Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
    };
    sender = makeSender({ allowNetworks: parseCidrList('127.0.0.0/8'), timeoutMs: 1_500, resolve });
    // Several origins on the hanging name: each opens a connection of its own and looks it up.
    const hanging = [1, 2, 3, 4].map((p) =>
      sender!.send({ url: `http://hang.test:${p}/`, headers: {}, body: '{}' }),
    );
    const healthy = await sender.send({ url: `http://healthy.test:${port}/hook`, headers: {}, body: '{}' });
    expect(healthy).toMatchObject({ statusCode: 200, response: 'ok' });
    // One resolution of the hanging name for all its waiters.
    expect(asked.filter((h) => h === 'hang.test')).toEqual(['hang.test']);
    for (const result of await Promise.all(hanging)) expect(result.statusCode).toBe(0);
  });
});
