import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';

interface RawReply {
  status: number;
  headers: string;
  body: unknown;
}

/** Parses every HTTP/1.1 response (Content-Length framed) in `text`. */
function parseReplies(text: string): RawReply[] {
  const replies: RawReply[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    const head = rest.slice(0, headEnd);
    const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    const raw = rest.slice(headEnd + 4, headEnd + 4 + length);
    replies.push({ status: Number(head.slice(9, 12)), headers: head, body: raw ? JSON.parse(raw) : null });
    rest = rest.slice(headEnd + 4 + length);
  }
  return replies;
}

/**
 * Every error Hookgate's listener answers has the `{code, detail}` shape, including those
 * answered before any route runs: by Node's HTTP parser, for an `Expect` header, while closing.
 */
describe.each(STORES)('errors answered by the listener itself (%s)', (store) => {
  let hg: TestHookgate;

  /**
   * Writes `chunks` on one connection to 127.0.0.1 and reads to the end; between two chunks it
   * waits `gapMs`, calls `between`, and waits `gapMs` again.
   */
  function exchange(chunks: string[], gapMs = 0, between?: () => void): Promise<RawReply[]> {
    const { port } = new URL(hg.url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      const received: Buffer[] = [];
      socket.on('data', (d: Buffer) => received.push(d));
      socket.on('error', reject);
      socket.on('close', () => resolve(parseReplies(Buffer.concat(received).toString())));
      socket.on('connect', async () => {
        for (const [i, chunk] of chunks.entries()) {
          if (i > 0) {
            await new Promise((r) => setTimeout(r, gapMs));
            between?.();
            await new Promise((r) => setTimeout(r, gapMs));
          }
          socket.write(chunk);
        }
        // No end(): a half-closed client would have its pipelined request dropped. Every
        // exchange here ends with the server closing (an error, or Connection: close).
        socket.setTimeout(5000, () => socket.destroy(new Error('the server did not close the connection')));
      });
    });
  }

  beforeAll(async () => {
    hg = await startTestHookgate({ store });
  });
  afterAll(() => hg?.destroy());

  it('answers headers larger than the limit 431 header_too_large', async () => {
    const big = `GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    const [reply, ...more] = await exchange([big]);
    expect(more).toEqual([]);
    expect(reply).toMatchObject({
      status: 431,
      body: { code: 'header_too_large', detail: expect.any(String) },
    });
    expect(reply!.headers).toMatch(/content-type: application\/json/i);
  });

  it.each([
    ['a request line that is not HTTP', 'NOT HTTP AT ALL\r\n\r\n'],
    ['a header with no colon', 'GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nbroken header\r\n\r\n'],
    [
      'a bad chunked body',
      'POST /api/v1/app HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    ],
  ])('answers %s 400 bad_request', async (_label, request) => {
    const [reply] = await exchange([request]);
    expect(reply).toMatchObject({ status: 400, body: { code: 'bad_request', detail: expect.any(String) } });
  });

  it('answers an Expect other than 100-continue 417 expectation_failed', async () => {
    const [reply] = await exchange([
      'GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 200-ok\r\nConnection: close\r\n\r\n',
    ]);
    expect(reply).toMatchObject({
      status: 417,
      body: { code: 'expectation_failed', detail: expect.any(String) },
    });
  });

  it('answers a path the router refuses 400 bad_request', async () => {
    const [reply] = await exchange([
      'GET /api/v1/app/%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    ]);
    expect(reply).toMatchObject({ status: 400, body: { code: 'bad_request', detail: expect.any(String) } });
  });

  // Last: it closes the API (destroy() then stops the rest). A request already running finishes; the next one on the same
  // connection, arriving after close began, is refused with our shape.
  it('answers a request arriving while the server closes 503 shutting_down', async () => {
    const body = '{"name":"closing"}';
    const auth = `Authorization: Bearer ${hg.adminToken}\r\nContent-Type: application/json`;
    const first = `POST /api/v1/app HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const second = 'GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    let closing: Promise<void> | undefined;
    const replies = await exchange([first, `${body}${second}`], 200, () => {
      closing = hg.api!.close();
    });
    await closing;
    expect(replies.map((r) => r.status)).toEqual([201, 503]);
    expect(replies[1]!.body).toEqual({ code: 'shutting_down', detail: expect.any(String) });
  });
});
