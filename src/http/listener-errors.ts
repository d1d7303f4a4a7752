import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ApiError, ERRORS, type ErrorCode } from '../domain/errors.js';

/**
 * Errors answered before a request reaches a route (Node's HTTP parser, a server closing, an
 * `Expect` header) keep the `{code, detail}` shape of every other error: Fastify's and Node's
 * defaults answer `{"error":"Request Header Fields Too Large",…}` or an empty body.
 */
function body(code: ErrorCode): string {
  return JSON.stringify({ code, detail: ERRORS[code].detail });
}

/** Node's parser codes, mapped to ours; anything else the parser refuses is a bad request. */
function parserErrorCode(error: NodeJS.ErrnoException): ErrorCode {
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'header_too_large';
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout';
  return 'bad_request';
}

/** Fastify's `clientErrorHandler`: a request Node could not parse, answered and closed. */
export function clientErrorHandler(
  this: FastifyInstance,
  error: NodeJS.ErrnoException,
  socket: Socket,
): void {
  // A reset connection has nobody to answer (as Node and Fastify do).
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code = parserErrorCode(error);
  const { status } = ERRORS[code];
  const text = body(code);
  this.log.debug({ err: error }, `client error: ${code}`);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}

/** Node answers an `Expect` other than 100-continue with an empty 417 unless someone listens. */
function expectationFailed(_request: IncomingMessage, response: ServerResponse): void {
  const text = body('expectation_failed');
  response.writeHead(ERRORS.expectation_failed.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/**
 * Installs the listener-level handlers on `api`, which must be built with
 * `return503OnClosing: false` (Fastify's own 503 body is not ours): once close starts, a new
 * request is answered 503 shutting_down before anything else runs (Fastify adds
 * `Connection: close`); requests already running finish.
 */
export function registerListenerErrors(api: FastifyInstance): void {
  api.server.on('checkExpectation', expectationFailed);
  let closing = false;
  api.addHook('preClose', async () => {
    closing = true;
  });
  api.addHook('onRequest', async () => {
    if (closing) throw new ApiError('shutting_down');
  });
}
