import { availableParallelism } from 'node:os';
import { DEFAULT_HEALTH_POLICY, type HealthPolicy } from '../domain/health.js';
import { DEFAULT_RETRY_SCHEDULE_SECONDS, parseRetrySchedule } from '../domain/retry.js';
import { parseSecretKey } from '../domain/secret-box.js';
import { type Cidr, parseCidrList } from '../domain/ssrf.js';

/** Everything `hookgate serve` can be told; each flag also reads an environment variable. */
export interface HookgateConfig {
  /** PORT, default 8071. 0 picks a free port. */
  port: number;
  /**
   * HOOKGATE_METRICS_PORT (0: a free port) and HOOKGATE_METRICS_HOST (default 127.0.0.1): where
   * Prometheus metrics are served; null (the default) serves none.
   */
  metrics: { port: number; host: string } | null;
  /** HOST, default 127.0.0.1 (only this machine); 0.0.0.0 listens everywhere. */
  host: string;
  /** HOOKGATE_DB: SQLite file, default ./hookgate.db. */
  dbPath: string;
  /** HOOKGATE_SQLITE_SYNCHRONOUS: FULL (default: writes answered once on disk) or NORMAL. */
  synchronous: 'FULL' | 'NORMAL';
  /** HOOKGATE_ADMIN_TOKEN: when unset, one is generated on first start and only its hash kept. */
  adminToken: string | null;
  /** HOOKGATE_RETRY_SCHEDULE: seconds between attempts after the first; default 5,300,1800,7200,18000,36000,36000. */
  retrySchedule: number[];
  /** HOOKGATE_REQUEST_TIMEOUT: seconds per attempt, default 15. */
  requestTimeoutSeconds: number;
  /** HOOKGATE_ALLOW_NETWORKS: CIDRs exempt from the SSRF guard, default none. */
  allowNetworks: Cidr[];
  /** HOOKGATE_MAX_PAYLOAD_BYTES: largest request body, default 1 MiB. */
  maxPayloadBytes: number;
  /** HOOKGATE_LOG_LEVEL: pino level, default info. */
  logLevel: string;
  /** HOOKGATE_PUBLIC_URL: the base URL providers reach Hookgate at, for ingest URLs; default: the request's Host. */
  publicUrl: string | null;
  /** DATABASE_URL: a postgres:// URL selects the PostgreSQL store (many nodes); default: SQLite. */
  databaseUrl: string | null;
  /** HOOKGATE_ROLE: `all` (default) serves the API and delivers; `api` only serves; `worker` only delivers. */
  role: Role;
  /** HOOKGATE_PG_POOL_SIZE: PostgreSQL connections per node, default 10. */
  pgPoolSize: number;
  /** HOOKGATE_RETENTION_DAYS: messages, attempts and inbound records older than this are deleted; 0 keeps all. Default 90. */
  retentionDays: number;
  /** HOOKGATE_SECRET_KEY: base64 of 32 bytes; when set, signing and provider secrets are encrypted at rest. */
  secretKey: Buffer | null;
  /**
   * Circuit breaker and automatic disabling. HOOKGATE_BREAKER_THRESHOLD: consecutive failures that
   * open an endpoint's circuit (default 5; 0 turns the breaker off). HOOKGATE_BREAKER_OPEN_SECONDS:
   * how long it first stays open (default 30), doubling after each failed probe up to 10 minutes
   * (or the open time, if longer). HOOKGATE_AUTO_DISABLE_DAYS (default 5, 0 never): how long an
   * endpoint may fail without a success before it is disabled.
   */
  health: HealthPolicy;
  /**
   * HOOKGATE_SENDER_THREAD: `auto` (default: on with SQLite when the machine has more than one
   * core), `on` or `off`. On, the HTTP client of deliveries runs on a thread of its own.
   */
  senderThread: boolean;
}

export type Role = 'all' | 'api' | 'worker';

export const DEFAULTS = {
  port: '8071',
  host: '127.0.0.1',
  db: './hookgate.db',
  synchronous: 'FULL',
  retrySchedule: DEFAULT_RETRY_SCHEDULE_SECONDS.join(','),
  requestTimeout: '15',
  allowNetworks: '',
  maxPayloadBytes: String(1024 * 1024),
  logLevel: 'info',
  publicUrl: '',
  databaseUrl: '',
  role: 'all',
  pgPoolSize: '10',
  retentionDays: '90',
  secretKey: '',
  autoDisableDays: '5',
  breakerThreshold: String(DEFAULT_HEALTH_POLICY.openAfterFailures),
  breakerOpenSeconds: String(DEFAULT_HEALTH_POLICY.openBaseMs / 1000),
  senderThread: 'auto',
  metricsPort: '',
  metricsHost: '127.0.0.1',
} as const;

/** Raw text values, as flags or environment variables give them; missing ones take the defaults. */
export type RawConfig = { [K in keyof typeof DEFAULTS]?: string | undefined } & {
  adminToken?: string | undefined;
};

function positiveNumber(name: string, text: string, { integer = false } = {}): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`);
  }
  return n;
}

export function parseConfig(given: RawConfig): HookgateConfig {
  const raw = { ...DEFAULTS } as { [K in keyof typeof DEFAULTS]: string } & {
    adminToken?: string | undefined;
  };
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined) (raw as Record<string, string>)[key] = value;
  }
  const port = parsePort('port', raw.port);
  const synchronous = raw.synchronous.toUpperCase();
  if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
    throw new Error(`HOOKGATE_SQLITE_SYNCHRONOUS must be FULL or NORMAL, got "${raw.synchronous}"`);
  }
  return {
    port,
    metrics:
      raw.metricsPort === ''
        ? null
        : { port: parsePort('HOOKGATE_METRICS_PORT', raw.metricsPort), host: raw.metricsHost },
    host: raw.host,
    dbPath: raw.db,
    synchronous,
    adminToken: raw.adminToken || null,
    retrySchedule: parseRetrySchedule(raw.retrySchedule),
    requestTimeoutSeconds: positiveNumber('HOOKGATE_REQUEST_TIMEOUT', raw.requestTimeout),
    allowNetworks: parseCidrList(raw.allowNetworks),
    maxPayloadBytes: positiveNumber('HOOKGATE_MAX_PAYLOAD_BYTES', raw.maxPayloadBytes, { integer: true }),
    logLevel: raw.logLevel,
    publicUrl: parsePublicUrl(raw.publicUrl),
    databaseUrl: parseDatabaseUrl(raw.databaseUrl),
    role: parseRole(raw.role, raw.databaseUrl),
    pgPoolSize: positiveNumber('HOOKGATE_PG_POOL_SIZE', raw.pgPoolSize, { integer: true }),
    retentionDays: nonNegativeNumber('HOOKGATE_RETENTION_DAYS', raw.retentionDays),
    secretKey: raw.secretKey === '' ? null : parseSecretKey(raw.secretKey),
    health: healthPolicy(raw),
    senderThread: parseSenderThread(raw.senderThread, raw.databaseUrl),
  };
}

function parsePort(name: string, text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text.trim()) || port > 65535) throw new Error(`${name} must be 0–65535, got "${text}"`);
  return port;
}

function parseSenderThread(text: string, databaseUrl: string): boolean {
  if (text === 'on') return true;
  if (text === 'off') return false;
  // It pays where the event loop is busy with SQLite's work and a core is free (BENCHMARKS.md).
  // On one core it only adds hand-overs. On PostgreSQL the store's work runs in PostgreSQL's
  // processes: worker nodes sharing two cores delivered a third less with the thread.
  if (text === 'auto') return databaseUrl === '' && availableParallelism() > 1;
  throw new Error(`HOOKGATE_SENDER_THREAD must be auto, on or off, got "${text}"`);
}

function parsePublicUrl(text: string): string | null {
  if (text === '') return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`HOOKGATE_PUBLIC_URL must be an absolute http(s) URL, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`HOOKGATE_PUBLIC_URL must be an absolute http(s) URL, got "${text}"`);
  }
  return url.href.replace(/\/$/, '');
}

function nonNegativeNumber(name: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new Error(`${name} must be 0 or more, got "${text}"`);
  return n;
}

function parseDatabaseUrl(text: string): string | null {
  if (text === '') return null;
  if (!/^postgres(ql)?:\/\//.test(text)) throw new Error('DATABASE_URL must be a postgres:// URL');
  return text;
}

function parseRole(text: string, databaseUrl: string): Role {
  if (text !== 'all' && text !== 'api' && text !== 'worker') {
    throw new Error(`HOOKGATE_ROLE must be all, api or worker, got "${text}"`);
  }
  // A SQLite file belongs to one process: splitting roles needs the shared PostgreSQL store.
  if (text !== 'all' && databaseUrl === '')
    throw new Error(`HOOKGATE_ROLE=${text} needs DATABASE_URL (PostgreSQL)`);
  return text;
}

function disableAfterMs(days: number): number | null {
  return days === 0 ? null : days * 24 * 3600 * 1000;
}

/** Longest configurable open time of a circuit, in ms: a year. */
const MAX_OPEN_MS = 365 * 24 * 3600 * 1000;

function healthPolicy(raw: { [K in keyof typeof DEFAULTS]: string }): HealthPolicy {
  const threshold = nonNegativeNumber('HOOKGATE_BREAKER_THRESHOLD', raw.breakerThreshold);
  if (!Number.isInteger(threshold))
    throw new Error(`HOOKGATE_BREAKER_THRESHOLD must be a whole number, got "${raw.breakerThreshold}"`);
  // Whole milliseconds within a year: the open time ends up in a BIGINT column (PostgreSQL refuses
  // a fraction or an exponent), and a circuit open for longer is an endpoint to disable instead.
  const openBaseMs = Math.round(
    positiveNumber('HOOKGATE_BREAKER_OPEN_SECONDS', raw.breakerOpenSeconds) * 1000,
  );
  if (openBaseMs < 1 || openBaseMs > MAX_OPEN_MS)
    throw new Error(
      `HOOKGATE_BREAKER_OPEN_SECONDS must be between 0.001 and ${MAX_OPEN_MS / 1000}, got "${raw.breakerOpenSeconds}"`,
    );
  return {
    openAfterFailures: threshold,
    openBaseMs,
    // Doubling stops at 10 minutes, or at the configured open time if that is longer.
    openMaxMs: Math.max(DEFAULT_HEALTH_POLICY.openMaxMs, openBaseMs),
    disableAfterMs: disableAfterMs(nonNegativeNumber('HOOKGATE_AUTO_DISABLE_DAYS', raw.autoDisableDays)),
  };
}
