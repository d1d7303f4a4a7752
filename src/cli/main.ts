#!/usr/bin/env node
import { Command, Option } from 'commander';
import { DEFAULTS, parseConfig } from './config.js';
import { limitHeapGrowth } from './heap.js';
import { startHookgate } from './server.js';

const program = new Command()
  .name('hookgate')
  .description(
    'Self-hosted webhook gateway: durable, signed, retried webhooks behind a Svix-compatible API.',
  );

const flag = (flags: string, description: string, env: string, fallback: string) =>
  new Option(flags, description).env(env).default(fallback);

program
  .command('serve')
  .description('Run the API and the delivery dispatcher on the embedded SQLite store.')
  .addOption(flag('--port <port>', 'port to listen on', 'PORT', DEFAULTS.port))
  .addOption(flag('--host <host>', 'address to listen on', 'HOST', DEFAULTS.host))
  .addOption(flag('--db <path>', 'SQLite database file', 'HOOKGATE_DB', DEFAULTS.db))
  .addOption(
    flag(
      '--synchronous <mode>',
      'SQLite durability: FULL or NORMAL',
      'HOOKGATE_SQLITE_SYNCHRONOUS',
      DEFAULTS.synchronous,
    ),
  )
  .addOption(
    new Option(
      '--admin-token <token>',
      'admin bearer token (default: generated on first start, printed once)',
    ).env('HOOKGATE_ADMIN_TOKEN'),
  )
  .addOption(
    flag(
      '--retry-schedule <seconds>',
      'delays between attempts after the first, comma-separated',
      'HOOKGATE_RETRY_SCHEDULE',
      DEFAULTS.retrySchedule,
    ),
  )
  .addOption(
    flag(
      '--request-timeout <seconds>',
      'timeout of one attempt',
      'HOOKGATE_REQUEST_TIMEOUT',
      DEFAULTS.requestTimeout,
    ),
  )
  .addOption(
    flag(
      '--allow-networks <cidrs>',
      'CIDRs exempt from the SSRF guard, e.g. 127.0.0.0/8,::1/128',
      'HOOKGATE_ALLOW_NETWORKS',
      DEFAULTS.allowNetworks,
    ),
  )
  .addOption(
    flag(
      '--max-payload-bytes <bytes>',
      'largest request body',
      'HOOKGATE_MAX_PAYLOAD_BYTES',
      DEFAULTS.maxPayloadBytes,
    ),
  )
  .addOption(flag('--log-level <level>', 'log level', 'HOOKGATE_LOG_LEVEL', DEFAULTS.logLevel))
  .addOption(
    flag(
      '--public-url <url>',
      'base URL providers reach Hookgate at, used in ingest URLs (default: the request Host)',
      'HOOKGATE_PUBLIC_URL',
      DEFAULTS.publicUrl,
    ),
  )
  .addOption(
    flag(
      '--database-url <url>',
      'postgres:// URL: use PostgreSQL, shared by any number of nodes (default: SQLite)',
      'DATABASE_URL',
      DEFAULTS.databaseUrl,
    ),
  )
  .addOption(
    flag(
      '--role <role>',
      'all, api (serve only) or worker (deliver only; PostgreSQL)',
      'HOOKGATE_ROLE',
      DEFAULTS.role,
    ),
  )
  .addOption(
    flag(
      '--pg-pool-size <n>',
      'PostgreSQL connections per node',
      'HOOKGATE_PG_POOL_SIZE',
      DEFAULTS.pgPoolSize,
    ),
  )
  .addOption(
    flag(
      '--retention-days <days>',
      'delete messages, attempts and inbound records older than this (0: keep all)',
      'HOOKGATE_RETENTION_DAYS',
      DEFAULTS.retentionDays,
    ),
  )
  .addOption(
    flag(
      '--auto-disable-days <days>',
      'disable an endpoint failing without a success for this long (0: never)',
      'HOOKGATE_AUTO_DISABLE_DAYS',
      DEFAULTS.autoDisableDays,
    ),
  )
  .addOption(
    flag(
      '--breaker-threshold <failures>',
      "consecutive failures that open an endpoint's circuit (0: no circuit breaker)",
      'HOOKGATE_BREAKER_THRESHOLD',
      DEFAULTS.breakerThreshold,
    ),
  )
  .addOption(
    flag(
      '--breaker-open-seconds <seconds>',
      'how long an open circuit first waits before one probe (doubles after each failed probe)',
      'HOOKGATE_BREAKER_OPEN_SECONDS',
      DEFAULTS.breakerOpenSeconds,
    ),
  )
  .addOption(
    flag(
      '--sender-thread <auto|on|off>',
      'send deliveries from a thread of their own (auto: with SQLite and more than one core)',
      'HOOKGATE_SENDER_THREAD',
      DEFAULTS.senderThread,
    ),
  )
  .addOption(
    new Option(
      '--metrics-port <port>',
      'serve Prometheus metrics at http://<metrics-host>:<port>/metrics (0: a free port; default: off)',
    ).env('HOOKGATE_METRICS_PORT'),
  )
  .addOption(
    flag(
      '--metrics-host <address>',
      'address the metrics listen on (no token: keep it where only the scraper reaches)',
      'HOOKGATE_METRICS_HOST',
      DEFAULTS.metricsHost,
    ),
  )
  .addOption(
    new Option(
      '--secret-key <base64>',
      'encrypts signing and provider secrets at rest (32 bytes, base64)',
    ).env('HOOKGATE_SECRET_KEY'),
  )
  .action(async (opts) => {
    const config = parseConfig({
      port: opts.port,
      host: opts.host,
      db: opts.db,
      synchronous: opts.synchronous,
      adminToken: opts.adminToken,
      retrySchedule: opts.retrySchedule,
      requestTimeout: opts.requestTimeout,
      allowNetworks: opts.allowNetworks,
      maxPayloadBytes: opts.maxPayloadBytes,
      logLevel: opts.logLevel,
      publicUrl: opts.publicUrl,
      databaseUrl: opts.databaseUrl,
      role: opts.role,
      pgPoolSize: opts.pgPoolSize,
      retentionDays: opts.retentionDays,
      secretKey: opts.secretKey,
      autoDisableDays: opts.autoDisableDays,
      breakerThreshold: opts.breakerThreshold,
      breakerOpenSeconds: opts.breakerOpenSeconds,
      senderThread: opts.senderThread,
      metricsPort: opts.metricsPort,
      metricsHost: opts.metricsHost,
    });
    limitHeapGrowth();
    const hookgate = await startHookgate(config);
    const storage = config.databaseUrl ? 'PostgreSQL' : `SQLite: ${config.dbPath}`;
    const lines = [
      hookgate.url
        ? `Hookgate listening on ${hookgate.url} (${storage}, role ${config.role})`
        : `Hookgate worker delivering (${storage})`,
    ];
    if (hookgate.metricsUrl) lines.push(`Metrics on ${hookgate.metricsUrl}`);
    if (!hookgate.url) {
      // A worker serves no API: nothing to say about tokens.
    } else if (hookgate.generatedAdminToken) {
      lines.push(`Admin token (shown once, only its hash is stored): ${hookgate.generatedAdminToken}`);
    } else if (!config.adminToken) {
      lines.push(
        'Admin token: the one printed on first start, by this node or another (or set HOOKGATE_ADMIN_TOKEN).',
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    let stopping = false;
    const shutdown = (signal: string, exitCode = 0) => {
      if (stopping) return;
      stopping = true;
      hookgate.log.info({ signal }, 'shutting down');
      hookgate.stop().then(
        () => process.exit(exitCode),
        (err) => {
          hookgate.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    // A failed WAL flush leaves what is on disk unknown: stop, and let the supervisor restart us
    // (SQLite recovers from the file as it is). Health answers 503 until the listener closes.
    void hookgate.fatal.then(() => shutdown('storage failure', 1));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`hookgate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
