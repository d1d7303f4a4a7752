import { type Dispatcher, startDispatcher } from '../delivery/dispatcher.js';
import { makeSender, type Sender } from '../delivery/sender.js';
import { buildApi } from '../http/app.js';
import { ADMIN_TOKEN_HASH_SETTING, generateAdminToken, hashToken } from '../http/auth.js';
import type { Api } from '../http/types.js';
import { openSqliteStore } from '../store/sqlite/index.js';
import type { Store } from '../store/store.js';
import type { HookgateConfig } from './config.js';

export interface RunningHookgate {
  url: string;
  /** Set only when this start generated the admin token: it is shown once and never stored. */
  generatedAdminToken: string | null;
  store: Store;
  api: Api;
  dispatcher: Dispatcher;
  /** Stops accepting requests, lets in-flight attempts finish (up to `deadlineMs`), closes the store. */
  stop(deadlineMs?: number): Promise<void>;
}

/** How long app-portal tokens live by default: 7 days. */
const APP_TOKEN_TTL_SECONDS = 7 * 24 * 3600;
/** A repeated Idempotency-Key replays the first response for 24 hours, as in Svix. */
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
const HOUSEKEEPING_INTERVAL_MS = 10 * 60 * 1000;
const HOUSEKEEPING_BATCH = 10_000;

/**
 * The admin token's hash: from configuration, from storage, or freshly generated. A generated
 * one is stored only once the server listens, so a start that fails never hides the token.
 */
async function adminTokenHash(store: Store, configured: string | null) {
  if (configured) return { hash: hashToken(configured), generated: null };
  const stored = await store.getSetting(ADMIN_TOKEN_HASH_SETTING);
  if (stored) return { hash: stored, generated: null };
  const token = generateAdminToken();
  return { hash: hashToken(token), generated: token };
}

/** The composition root: store, API and dispatcher wired together and listening. */
export async function startHookgate(config: HookgateConfig): Promise<RunningHookgate> {
  const store = openSqliteStore({ path: config.dbPath, synchronous: config.synchronous });
  const timeoutMs = config.requestTimeoutSeconds * 1000;
  const sender: Sender = makeSender({ allowNetworks: config.allowNetworks, timeoutMs });
  let dispatcher: Dispatcher | null = null;
  let api: Api;
  let admin: Awaited<ReturnType<typeof adminTokenHash>>;
  let address: string;
  try {
    admin = await adminTokenHash(store, config.adminToken);
    api = await buildApi({
      store,
      adminTokenHash: admin.hash,
      maxPayloadBytes: config.maxPayloadBytes,
      allowNetworks: config.allowNetworks,
      appTokenTtlSeconds: APP_TOKEN_TTL_SECONDS,
      publicUrl: config.publicUrl,
      wakeDispatcher: () => dispatcher?.wake(),
      logger: { level: config.logLevel, redact: ['req.headers.authorization'] },
    });
    address = await api.listen({ port: config.port, host: config.host });
    if (admin.generated) await store.setSetting(ADMIN_TOKEN_HASH_SETTING, admin.hash);
  } catch (error) {
    await sender.close();
    await store.close();
    throw error;
  }
  const log = api.log;
  const running = startDispatcher({
    store,
    sender,
    retrySchedule: config.retrySchedule,
    requestTimeoutMs: timeoutMs,
    onError: (err) => log.error({ err }, 'dispatcher error'),
  });
  dispatcher = running;
  const housekeeping = setInterval(() => {
    const now = Date.now();
    store
      .pruneExpired(now, now - IDEMPOTENCY_TTL_MS, HOUSEKEEPING_BATCH)
      .catch((err) => log.warn({ err }, 'housekeeping failed'));
  }, HOUSEKEEPING_INTERVAL_MS).unref();
  return {
    url: address,
    generatedAdminToken: admin.generated,
    store,
    api,
    dispatcher: running,
    async stop(deadlineMs = 10_000) {
      clearInterval(housekeeping);
      await api.close();
      await running.stop(deadlineMs);
      await sender.close();
      await store.close();
    },
  };
}
