import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: { scope: string; key: string; settle: () => void };
  }
  interface FastifyContextConfig {
    /** false: this route's responses are never stored for Idempotency-Key replay. */
    idempotent?: boolean;
  }
}

const MAX_KEY_LENGTH = 256;

/**
 * `Idempotency-Key` on POST (the svix clients send one with every POST): the first response
 * (any status below 500) is stored and replayed for a repeat of the same key by the same caller
 * on the same route. A repeat arriving while the first is still running waits for it.
 */
export function registerIdempotency(app: FastifyInstance, store: Store): void {
  const inFlight = new Map<string, Promise<void>>();

  app.addHook('preHandler', async (request: FastifyRequest, reply) => {
    // Inbound provider requests have no principal: their retries are deduplicated by delivery id.
    if (request.method !== 'POST' || !request.principal || request.routeOptions.config.idempotent === false)
      return;
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '' || key.length > MAX_KEY_LENGTH) return;
    const p = request.principal;
    const scope = `${p.kind === 'admin' ? 'admin' : p.appId} ${request.url}`;
    const id = `${scope}\n${key}`;
    await inFlight.get(id);
    const stored = await store.getIdempotentResponse(scope, key);
    if (stored) {
      reply.code(stored.statusCode).header('content-type', 'application/json; charset=utf-8');
      reply.header('idempotent-replayed', 'true');
      return reply.send(stored.body);
    }
    let settle!: () => void;
    inFlight.set(
      id,
      new Promise<void>((resolve) => {
        settle = () => {
          inFlight.delete(id);
          resolve();
        };
      }),
    );
    request.idempotency = { scope, key, settle };
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const idem = request.idempotency;
    if (!idem) return payload;
    request.idempotency = undefined;
    if (reply.statusCode >= 500 || (typeof payload !== 'string' && payload !== null)) {
      idem.settle();
      return payload;
    }
    // Not awaited: the response need not wait for a second commit; repeats wait on `settle`.
    store
      .saveIdempotentResponse(
        idem.scope,
        idem.key,
        { statusCode: reply.statusCode, body: payload ?? '' },
        Date.now(),
      )
      .catch((err) => request.log.warn({ err }, 'could not store idempotent response'))
      .finally(idem.settle);
    return payload;
  });

  app.addHook('onResponse', async (request) => {
    request.idempotency?.settle();
  });
}
