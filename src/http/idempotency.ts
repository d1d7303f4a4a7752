import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../domain/errors.js';
import type { IdempotencyKey, IdempotentWrite, Store, StoredResponse } from '../store/store.js';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: Hold;
  }
  interface FastifyContextConfig {
    /** false: this route's responses are never stored for Idempotency-Key replay. */
    idempotent?: boolean;
  }
}

/** A request's reservation of its Idempotency-Key. */
interface Hold {
  key: IdempotencyKey;
  renewal: NodeJS.Timeout;
  /** True once the route's write stored the response in its own commit (see sendStored). */
  stored: boolean;
}

const MAX_KEY_LENGTH = 256;
/**
 * How long a reservation holds before another request may take the key over, in ms: the time a
 * repeat waits when the holder crashed. A live holder renews it every third of that.
 */
export const IDEMPOTENCY_LEASE_MS = 10_000;
/** How long a repeat waits for the holder before answering 409 idempotency_conflict, in ms. */
const WAIT_MS = IDEMPOTENCY_LEASE_MS + 2_000;
/** A waiter asks the database again after this long at first, doubling up to POLL_MAX_MS. */
const POLL_MIN_MS = 5;
const POLL_MAX_MS = 200;

/**
 * `Idempotency-Key` on POST (the svix clients send one with every POST). Before the route runs,
 * the key is reserved in the database (one row per caller, route and key, inserted if absent):
 * across every node, one request per key executes. A repeat finds the stored response and
 * replays it, or finds the key in progress and waits (polling, and woken at once by a holder in
 * this process) until the response is stored, or the holder failed or crashed and it takes the
 * key over itself, one waiter at a time; past WAIT_MS it answers 409 (Svix's server waits on its
 * start lock the same way, then takes it over). Responses below 500 are stored, before the
 * client hears them; a 5xx releases the key. Routes that can store the response in their own
 * write's commit (publish: see sendStored) leave no window for a crash between the two.
 */
export function registerIdempotency(app: FastifyInstance, store: Store): void {
  /** Waiters in this process, by key, woken when a holder here finishes or releases it. */
  const waiters = new Map<string, Set<() => void>>();
  const idOf = (k: IdempotencyKey) => `${k.scope}\n${k.key}`;
  const wake = (k: IdempotencyKey) => {
    const id = idOf(k);
    for (const resolve of waiters.get(id) ?? []) resolve();
    waiters.delete(id);
  };
  const nap = (k: IdempotencyKey, ms: number) =>
    new Promise<void>((resolve) => {
      const id = idOf(k);
      const set = waiters.get(id) ?? new Set();
      waiters.set(id, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && waiters.get(id) === set) waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });

  /**
   * Who calls which route with which path parameters. The matched route and its decoded
   * parameters, never the raw URL: `/app/%61pp_x/msg` and `/app/app_x/msg` are one request.
   */
  const idempotencyScope = (request: FastifyRequest) => {
    const p = request.principal;
    const params = Object.entries((request.params ?? {}) as Record<string, string>).sort(([a], [b]) =>
      a < b ? -1 : 1,
    );
    return `${p.kind === 'admin' ? 'admin' : p.appId} ${request.method} ${request.routeOptions.url} ${JSON.stringify(params)}`;
  };

  app.addHook('preHandler', async (request: FastifyRequest, reply) => {
    // Inbound provider requests have no principal: their retries are deduplicated by delivery id.
    if (request.method !== 'POST' || !request.principal || request.routeOptions.config.idempotent === false)
      return;
    const header = request.headers['idempotency-key'];
    if (typeof header !== 'string' || header === '' || header.length > MAX_KEY_LENGTH) return;
    const key = {
      scope: idempotencyScope(request),
      key: header,
      owner: randomUUID(),
    };
    const deadline = Date.now() + WAIT_MS;
    for (let pause = POLL_MIN_MS; ; pause = Math.min(pause * 2, POLL_MAX_MS)) {
      const now = Date.now();
      const found = await store.reserveIdempotencyKey(key, now, now + IDEMPOTENCY_LEASE_MS);
      if (found.state === 'reserved') break;
      if (found.state === 'finished') return replay(reply, found.response);
      if (now >= deadline) {
        reply.header('retry-after', '1');
        throw new ApiError('idempotency_conflict');
      }
      await nap(key, Math.min(pause, deadline - now));
    }
    const renewal = setInterval(() => {
      store
        .renewIdempotencyKey(key, Date.now() + IDEMPOTENCY_LEASE_MS)
        .catch((err: unknown) => request.log.warn({ err }, 'could not renew an idempotency key'));
    }, IDEMPOTENCY_LEASE_MS / 3);
    renewal.unref();
    request.idempotency = { key, renewal, stored: false };
  });

  /** Ends the request's hold: stores its response (or releases the key on a 5xx), then wakes waiters. */
  async function settle(request: FastifyRequest, statusCode: number, payload: unknown): Promise<void> {
    const hold = request.idempotency;
    if (!hold) return;
    request.idempotency = undefined;
    clearInterval(hold.renewal);
    try {
      if (hold.stored) return;
      if (statusCode >= 500 || (typeof payload !== 'string' && payload != null)) {
        await store.releaseIdempotencyKey(hold.key);
      } else {
        // Awaited: a client that hears the answer can count on its key being answered the same.
        await store.finishIdempotencyKey(hold.key, { statusCode, body: (payload as string | null) ?? '' });
      }
    } catch (err) {
      // The reservation's lease runs out by itself: the key is free again within the lease.
      request.log.warn({ err }, 'could not settle an idempotency key');
    } finally {
      wake(hold.key);
    }
  }

  app.addHook('onSend', async (request, reply, payload) => {
    await settle(request, reply.statusCode, payload);
    return payload;
  });
  // A response that never passed through onSend (the connection broke first) releases the key.
  app.addHook('onResponse', async (request) => settle(request, 500, null));
}

function replay(reply: FastifyReply, response: StoredResponse): FastifyReply {
  reply.code(response.statusCode).header('idempotent-replayed', 'true');
  if (response.body !== '') reply.header('content-type', 'application/json; charset=utf-8');
  return reply.send(response.body);
}

/**
 * Answers `statusCode` with `out(result)` of a write whose store method keeps the response under
 * the request's Idempotency-Key in the write's own commit (`write` gets that IdempotentWrite, or
 * undefined when the request holds no key). The body sent is the one stored, byte for byte.
 */
export async function sendStored<R>(
  request: FastifyRequest,
  reply: FastifyReply,
  statusCode: number,
  out: (result: R) => unknown,
  write: (idempotency: IdempotentWrite<R> | undefined) => Promise<R>,
): Promise<FastifyReply> {
  reply.code(statusCode);
  const serialize = (result: R) => reply.serialize(out(result)) as string;
  const hold = request.idempotency;
  let last: { result: R; body: string } | undefined;
  const respond = (result: R) => {
    last = { result, body: serialize(result) };
    return { statusCode, body: last.body };
  };
  const result = await write(hold && { key: hold.key, respond });
  if (hold) hold.stored = true;
  const body = last?.result === result ? last.body : serialize(result);
  return reply.type('application/json; charset=utf-8').send(body);
}
