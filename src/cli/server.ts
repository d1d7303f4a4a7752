import pino from 'pino';
import { type Dispatcher, startDispatcher } from '../delivery/dispatcher.js';
import { operationalEventHook } from '../delivery/operational-events.js';
import { makeSender, type Sender } from '../delivery/sender.js';
import { startSenderThread } from '../delivery/threaded-sender.js';
import { buildApi } from '../http/app.js';
import { ADMIN_TOKEN_HASH_SETTING, generateAdminToken, hashToken } from '../http/auth.js';
import type { Api } from '../http/types.js';
import type { HealthListener } from '../store/health.js';
import { openPostgresStore } from '../store/postgres/index.js';
import { withCheckedSecretKey } from '../store/secret-key-check.js';
import { openSqliteStore, type SqliteStoreOptions } from '../store/sqlite/index.js';
import type { Store, StoreHealth } from '../store/store.js';
import type { HookgateConfig } from './config.js';
import { type MetricsServer, makeMetrics, serveMetrics } from './metrics.js';

export interface RunningHookgate {
  /** Where the API listens; null on a worker-only node. */
  url: string | null;
  /** Where Prometheus scrapes this node; null unless metrics are on (HOOKGATE_METRICS_PORT). */
  metricsUrl: string | null;
  /** Set only when this start generated the admin token: it is shown once and never stored. */
  generatedAdminToken: string | null;
  store: Store;
  /** The API; null on a worker-only node. */
  api: Api | null;
  /** The delivery loop; null on an API-only node. */
  dispatcher: Dispatcher | null;
  log: pino.Logger;
  /**
   * Settles when the store turns fatal (a failed WAL flush): health answers 503 from then on,
   * and the process must restart; `hookgate serve` stops and exits non-zero.
   */
  fatal: Promise<StoreHealth>;
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
 * one is stored only once the server listens, so a start that fails never hides the token (see
 * storeGeneratedAdminToken).
 */
async function adminTokenHash(store: Store, configured: string | null) {
  if (configured) return { hash: hashToken(configured), generated: null };
  const stored = await store.getSetting(ADMIN_TOKEN_HASH_SETTING);
  if (stored) return { hash: stored, generated: null };
  const token = generateAdminToken();
  return { hash: hashToken(token), generated: token };
}

/**
 * Stores a generated admin token's hash if no node stored one first (nodes of one PostgreSQL
 * database started together without HOOKGATE_ADMIN_TOKEN each generate one: only the first
 * stored counts). Returns the hash in force and whether it is this node's, whose token is then
 * the one to show.
 */
async function storeGeneratedAdminToken(store: Store, hash: string) {
  const stored = await store.setSettingIfAbsent(ADMIN_TOKEN_HASH_SETTING, hash);
  return { hash: stored, ours: stored === hash };
}

/** Seams of the SQLite store for tests (a WAL flush that fails, a size limit); default none. */
export type StartOptions = Pick<SqliteStoreOptions, 'walFlush' | 'maxPageCount'>;

/** Logs each change of the store's health once: an outage is one line, not one per request. */
function healthLog(log: pino.Logger): HealthListener {
  return (health, err) => {
    if (health.state === 'ok') log.info('storage available again');
    else if (health.state === 'fatal')
      log.fatal({ err, fault: health.fault }, 'storage failed; restart needed');
    else log.error({ err, fault: health.fault, retryable: health.retryable }, 'storage unavailable');
  };
}

async function openStore(
  config: HookgateConfig,
  log: pino.Logger,
  onHealth: HealthListener,
  seams: StartOptions,
): Promise<Store> {
  const store = config.databaseUrl
    ? await openPostgresStore({
        connectionString: config.databaseUrl,
        poolSize: config.pgPoolSize,
        onError: (err) => log.warn({ err }, 'PostgreSQL connection lost; a new one replaces it'),
        onHealth,
      })
    : openSqliteStore({
        path: config.dbPath,
        synchronous: config.synchronous,
        onError: (err) => log.warn({ err }, 'background WAL checkpoint failed'),
        onHealth,
        ...seams,
      });
  // Without a key secrets stay plaintext; a key that cannot open what is sealed refuses the start.
  try {
    return await withCheckedSecretKey(store, config.secretKey);
  } catch (error) {
    await store.close();
    throw error;
  }
}

function openSender(config: HookgateConfig, timeoutMs: number, log: pino.Logger): Promise<Sender> {
  const options = { allowNetworks: config.allowNetworks, timeoutMs };
  if (!config.senderThread) return Promise.resolve(makeSender(options));
  return startSenderThread(options, {
    onError: (err) =>
      log.error({ err }, 'sender thread failed; its unanswered requests are sent again shortly'),
  });
}

/**
 * The composition root: the store, then (by role) the API listening and the dispatcher
 * delivering. Every node of a PostgreSQL deployment runs this with the same database.
 */
export async function startHookgate(
  config: HookgateConfig,
  seams: StartOptions = {},
): Promise<RunningHookgate> {
  const log = pino({ level: config.logLevel, redact: ['req.headers.authorization'] });
  let reportFatal: (health: StoreHealth) => void = () => {};
  const fatal = new Promise<StoreHealth>((resolve) => {
    reportFatal = resolve;
  });
  const logHealth = healthLog(log);
  const onHealth: HealthListener = (health, err) => {
    logHealth(health, err);
    if (health.state === 'fatal') reportFatal(health);
  };
  const store = await openStore(config, log, onHealth, seams);
  const timeoutMs = config.requestTimeoutSeconds * 1000;
  let sender: Sender | null = null;
  let dispatcher: Dispatcher | null = null;
  let api: Api | null = null;
  let url: string | null = null;
  let generatedAdminToken: string | null = null;
  const metrics = config.metrics === null ? null : makeMetrics();
  let metricsServer: MetricsServer | null = null;
  try {
    // Before the API: a node that cannot deliver should not start accepting messages.
    if (config.role !== 'api') sender = await openSender(config, timeoutMs, log);
    // Before the API too: once the API listens, a generated admin token is stored, and a start
    // failing after that would never print it.
    if (metrics) metricsServer = await serveMetrics(metrics.registry, config.metrics!);
    if (config.role !== 'worker') {
      const admin = await adminTokenHash(store, config.adminToken);
      let adminHash = admin.hash;
      api = await buildApi({
        store,
        adminTokenHash: () => adminHash,
        maxPayloadBytes: config.maxPayloadBytes,
        allowNetworks: config.allowNetworks,
        appTokenTtlSeconds: APP_TOKEN_TTL_SECONDS,
        publicUrl: config.publicUrl,
        wakeDispatcher: () => dispatcher?.wake(),
        loggerInstance: log,
      });
      url = await api.listen({ port: config.port, host: config.host });
      if (admin.generated) {
        const stored = await storeGeneratedAdminToken(store, admin.hash);
        // Until this line the token was known to no one, so adopting another node's loses nothing.
        adminHash = stored.hash;
        if (stored.ours) generatedAdminToken = admin.generated;
        else log.info('admin token generated by another node is in use; this node prints none');
      }
    }
  } catch (error) {
    await api?.close();
    await metricsServer?.close();
    await sender?.close();
    await store.close();
    throw error;
  }
  let stopListening = () => {};
  if (sender) {
    dispatcher = startDispatcher({
      store,
      sender,
      retrySchedule: config.retrySchedule,
      requestTimeoutMs: timeoutMs,
      health: config.health,
      ...(metrics ? { observer: metrics.observer } : {}),
      onError: (err) => log.error({ err }, 'dispatcher error'),
      onAttempt: operationalEventHook({
        store,
        wake: () => dispatcher?.wake(),
        onError: (err) => log.warn({ err }, 'operational event not published'),
      }),
    });
    metrics?.watch(dispatcher);
    // Work committed by other nodes (PostgreSQL NOTIFY) wakes this one's dispatcher at once.
    const running = dispatcher;
    stopListening = store.onDue(() => running.wake());
  }
  const housekeeping = setInterval(() => {
    const now = Date.now();
    store
      .pruneExpired(now, now - IDEMPOTENCY_TTL_MS, HOUSEKEEPING_BATCH)
      .then(() =>
        config.retentionDays > 0
          ? store.pruneRetention(now - config.retentionDays * 24 * 3600 * 1000, HOUSEKEEPING_BATCH)
          : undefined,
      )
      .catch((err) => log.warn({ err }, 'housekeeping failed'));
  }, HOUSEKEEPING_INTERVAL_MS).unref();
  return {
    url,
    metricsUrl: metricsServer?.url ?? null,
    generatedAdminToken,
    store,
    api,
    dispatcher,
    log,
    fatal,
    async stop(deadlineMs = 10_000) {
      clearInterval(housekeeping);
      stopListening();
      await api?.close();
      await dispatcher?.stop(deadlineMs);
      await sender?.close();
      await metricsServer?.close();
      metrics?.release();
      await store.close();
    },
  };
}
