import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DeliveryObserver, Dispatcher } from '../delivery/dispatcher.js';

/** Seconds, for store writes: from a tenth of a millisecond (a SQLite claim) up. */
const STORE_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];
/** Seconds, for attempts: up to past the longest request timeout anyone sets. */
const ATTEMPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60];

export interface Metrics {
  /** Node's defaults and this Hookgate's own, to serve. */
  registry: Registry;
  /** What the dispatcher reports to. */
  observer: DeliveryObserver;
  /** The dispatcher whose attempts in flight the gauge reads. */
  watch(dispatcher: Dispatcher): void;
  /** Lets go of the dispatcher and of this Hookgate's metrics (at stop). */
  release(): void;
}

/**
 * Node's default metrics, collected once per process: each collection starts an event-loop
 * delay monitor and a GC observer that live as long as the process, whatever registry they
 * report to (several Hookgates in one process, as in tests, share them).
 */
let nodeDefaults: Registry | null = null;

function nodeMetrics(): Registry {
  if (!nodeDefaults) {
    nodeDefaults = new Registry();
    collectDefaultMetrics({ register: nodeDefaults });
  }
  return nodeDefaults;
}

/** The metrics of one Hookgate: Node's defaults and the delivery loop's. */
export function makeMetrics(): Metrics {
  const own = new Registry();
  const registers = [own];
  const claimSeconds = new Histogram({
    name: 'hookgate_claim_duration_seconds',
    help: 'Time a claim that leased deliveries took, waiting behind other writes included',
    buckets: STORE_BUCKETS,
    registers,
  });
  const emptyClaims = new Counter({
    name: 'hookgate_empty_claims_total',
    help: 'Claims that found nothing to lease (nothing due, or every due endpoint at its limit)',
    registers,
  });
  const claimed = new Counter({
    name: 'hookgate_claimed_deliveries_total',
    help: 'Deliveries leased by claims for an attempt',
    registers,
  });
  const attemptSeconds = new Histogram({
    name: 'hookgate_attempt_duration_seconds',
    help: 'Time from sending an attempt to its answer, or to giving up on one',
    buckets: ATTEMPT_BUCKETS,
    registers,
  });
  const attempts = new Counter({
    name: 'hookgate_attempts_total',
    help: 'Attempts made, by result: succeeded (a 2xx) or failed (another status, or no answer)',
    labelNames: ['result'] as const,
    registers,
  });
  const succeeded = attempts.labels('succeeded');
  const failed = attempts.labels('failed');
  // Both results are shown from the start, at zero (a label's series exists only once counted).
  succeeded.inc(0);
  failed.inc(0);
  const recordSeconds = new Histogram({
    name: 'hookgate_outcome_write_duration_seconds',
    help: 'Time a batch of attempt outcomes took to be written',
    buckets: STORE_BUCKETS,
    registers,
  });
  const recordFailures = new Counter({
    name: 'hookgate_outcome_write_failures_total',
    help: 'Batches of outcomes that could not be written (their deliveries are attempted again when their leases end)',
    registers,
  });
  let dispatcher: Dispatcher | null = null;
  new Gauge({
    name: 'hookgate_attempts_in_flight',
    help: 'Attempts sent and not yet answered',
    registers,
    collect() {
      this.set(dispatcher?.inFlight() ?? 0);
    },
  });
  return {
    registry: Registry.merge([nodeMetrics(), own]),
    observer: {
      claimed(ms, count) {
        // Idle polls would drown the latency of claims that hand out work.
        if (count === 0) return emptyClaims.inc();
        claimSeconds.observe(ms / 1000);
        claimed.inc(count);
      },
      attempted(ms, ok) {
        attemptSeconds.observe(ms / 1000);
        (ok ? succeeded : failed).inc();
      },
      recorded(ms, written) {
        recordSeconds.observe(ms / 1000);
        if (!written) recordFailures.inc();
      },
    },
    watch(d) {
      dispatcher = d;
    },
    release() {
      dispatcher = null;
      own.clear();
    },
  };
}

export interface MetricsServer {
  /** Where Prometheus scrapes: http://host:port/metrics. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` in Prometheus' text format on a listener of its own, so that every node
 * can be scraped, worker-role nodes (which serve no API) included. It has no token: bind it where
 * only the scraper reaches it.
 */
export async function serveMetrics(
  registry: Registry,
  at: { port: number; host: string },
): Promise<MetricsServer> {
  const refuse = (res: ServerResponse, status: number, code: string, detail: string) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ code, detail }));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics') return refuse(res, 404, 'not_found', 'Metrics are served at /metrics.');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return refuse(res, 405, 'method_not_allowed', 'Use GET /metrics.');
    }
    try {
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(text);
    } catch (error) {
      refuse(res, 500, 'internal_error', `Metrics could not be collected: ${(error as Error).message}`);
    }
  };
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
