/**
 * The benchmark scenarios. Every figure comes from separate processes on 127.0.0.1: Hookgate
 * (`node dist/cli/main.js serve` on a fresh temporary SQLite file or a fresh PostgreSQL database
 * per run), one receiver and one load generator. See BENCHMARKS.md for the method behind each
 * figure.
 */
import { type ClaimLatency, claimsBetween, readClaims } from './claims.js';
import { type CpuCost, type CpuFigures, cpuFigures, measureCpu, type Tracked } from './cpu.js';
import { type Deployment, deploy, describeSetup, type Setup, type Synchronous } from './deployment.js';
import { type PostgresServer, startPostgres } from './postgres.js';
import {
  type AdminClient,
  type HookgateNode,
  type HookgateProc,
  type LoadgenProc,
  type ReceiverProc,
  startLoadgen,
  startReceiver,
} from './procs.js';
import {
  messageBody,
  type PacedResult,
  type PublishResult,
  type PublishTarget,
  type RawResult,
} from './protocol.js';
import { type Figure, figure, pairedRatio, percentile, ratio } from './stats.js';

export type Mode = 'full' | 'quick' | 'tiny';

const SQLITE_FULL: Setup = { store: 'sqlite', synchronous: 'FULL' };

export interface Plan {
  /** Approximate size of each message payload, bytes. */
  payloadBytes: number;
  /** Requests in flight from the closed-loop publisher and from the raw loop. */
  concurrency: number;
  /** Applications (tenants) messages are spread over, round-robin; fan-out 1 means one endpoint each. */
  apps: number;
  raw: { reps: number; durationMs: number; warmupMs: number };
  /** Drain of a backlog on SQLite FULL, smallest backlog first: the scaling series. */
  drain: Array<{ backlog: number; reps: number }>;
  /** The same drain on SQLite NORMAL (the smallest backlog). */
  normal: { backlog: number; reps: number; e2eMessages: number };
  e2e: { fanout1: number; fanout10: number; reps: number; warmup: number };
  latency: {
    rates: number[];
    /** Paced runs first send at the rate for this long, unmeasured: a steady state, not a load step. */
    rateWarmupMs: number;
    durationMs: number;
    idleRate: number;
    idleSamples: number;
    reps: number;
    warmup: number;
  };
  mix: {
    messages: number;
    endpoints: number;
    timingOut: number;
    requestTimeoutSeconds: number;
    reps: number;
  };
  /**
   * PostgreSQL: the drain and end to end (fan-out 1) with an api-role node taking the publishes
   * and each count of worker-role nodes delivering; end to end also on one all-role node.
   * Repetitions go round the worker counts, so each count sees the machine in the same state.
   */
  postgres: {
    workers: number[];
    drain: { published: number; reps: number };
    e2e: { messages: number; reps: number };
  };
}

export function planFor(mode: Mode, huge: boolean): Plan {
  const base = { payloadBytes: 256, concurrency: 64, apps: 16 };
  if (mode === 'tiny') {
    return {
      ...base,
      apps: 2,
      raw: { reps: 1, durationMs: 500, warmupMs: 100 },
      drain: [{ backlog: 200, reps: 1 }],
      normal: { backlog: 200, reps: 1, e2eMessages: 200 },
      e2e: { fanout1: 200, fanout10: 40, reps: 1, warmup: 0 },
      latency: {
        rates: [500, 2000],
        rateWarmupMs: 100,
        durationMs: 200,
        idleRate: 50,
        idleSamples: 20,
        reps: 1,
        warmup: 0,
      },
      mix: { messages: 200, endpoints: 20, timingOut: 2, requestTimeoutSeconds: 1, reps: 1 },
      postgres: { workers: [1, 2], drain: { published: 300, reps: 1 }, e2e: { messages: 200, reps: 1 } },
    };
  }
  if (mode === 'quick') {
    return {
      ...base,
      raw: { reps: 3, durationMs: 1_000, warmupMs: 500 },
      drain: [{ backlog: 5_000, reps: 3 }],
      normal: { backlog: 5_000, reps: 1, e2eMessages: 3_000 },
      e2e: { fanout1: 3_000, fanout10: 300, reps: 3, warmup: 300 },
      latency: {
        rates: [500, 2000],
        rateWarmupMs: 500,
        durationMs: 1_000,
        idleRate: 50,
        idleSamples: 50,
        reps: 1,
        warmup: 300,
      },
      mix: { messages: 3_000, endpoints: 20, timingOut: 2, requestTimeoutSeconds: 1, reps: 1 },
      postgres: {
        workers: [1, 2, 3],
        drain: { published: 3_000, reps: 1 },
        e2e: { messages: 2_000, reps: 1 },
      },
    };
  }
  return {
    ...base,
    raw: { reps: 5, durationMs: 4_000, warmupMs: 1_000 },
    drain: [
      { backlog: 10_000, reps: 5 },
      { backlog: 100_000, reps: 3 },
      ...(huge ? [{ backlog: 1_000_000, reps: 1 }] : []),
    ],
    normal: { backlog: 10_000, reps: 3, e2eMessages: 20_000 },
    e2e: { fanout1: 20_000, fanout10: 2_000, reps: 5, warmup: 1_000 },
    latency: {
      rates: [500, 2000],
      rateWarmupMs: 1_000,
      durationMs: 5_000,
      idleRate: 50,
      idleSamples: 300,
      reps: 3,
      warmup: 1_000,
    },
    mix: { messages: 20_000, endpoints: 20, timingOut: 2, requestTimeoutSeconds: 1, reps: 3 },
    postgres: {
      workers: [1, 2, 3],
      drain: { published: 10_000, reps: 3 },
      e2e: { messages: 5_000, reps: 3 },
    },
  };
}

/** The drain of one setup, whatever the store. */
export interface DrainMeasure {
  /** Messages published; the backlog is this minus the attempts stuck in flight on /hold. */
  published: number;
  backlog: Figure;
  /** Deliveries per second while the backlog drained, from release to the last arrival. */
  rate: Figure;
  /** Deliveries per second between 10% and 90% of the backlog delivered: no start-up, no tail. */
  steadyRate: Figure;
  ratioToRaw: Figure;
  /** Publish rate while the backlog was built (closed loop), messages/s. */
  setupRate: Figure;
  /** Peak RSS of the delivering process (the largest worker's) over build-up and drain, MB. */
  peakRssMb: Figure;
  /** Peak RSS sampled during the drain alone, MB. */
  drainPeakRssMb: Figure;
  /** µs of CPU per delivery while the backlog drained (Linux only; absent from older records). */
  cpu?: CpuFigures;
  /** The claims of due deliveries during the drain, from Hookgate's metrics (absent from older records). */
  claims?: ClaimFigures;
  /**
   * Deliveries the receiver saw a second time (same path and webhook-id), all runs together;
   * absent from records made before it was counted.
   */
  duplicates?: number;
  incompleteRuns: number;
}

export interface DrainFigures extends DrainMeasure {
  synchronous: Synchronous;
}

/** Claims made while a backlog drained, every delivering node together. */
export interface ClaimFigures {
  /** Mean time a claim took, waiting behind other writes included, ms. */
  meanMs: Figure;
  /** The metrics histogram's bucket bound under which 99% of the claims fell, ms. */
  p99BoundMs: Figure;
  deliveriesPerClaim: Figure;
}

/** End to end of one setup, whatever the store. */
export interface EndToEndMeasure {
  fanout: number;
  messages: number;
  /** Messages published and delivered to every endpoint, per second (first publish to last arrival). */
  messagesPerSecond: Figure;
  deliveriesPerSecond: Figure;
  /** Deliveries per second as a fraction of the raw ceiling. */
  ratioToRaw: Figure;
  /** Publish rate alone (closed loop, 64 in flight), messages/s. */
  publishRate: Figure;
  /** Peak RSS of the delivering process, MB; with worker nodes, the largest worker's. */
  peakRssMb: Figure;
  /** µs of CPU per delivery, first publish to last arrival (Linux only; absent from older records). */
  cpu?: CpuFigures;
  /**
   * Deliveries the receiver saw a second time (same path and webhook-id), all runs together;
   * absent from records made before it was counted.
   */
  duplicates?: number;
  incompleteRuns: number;
}

export interface EndToEndFigures extends EndToEndMeasure {
  synchronous: Synchronous;
}

export interface PublishLatencyFigures {
  offeredRate: number;
  durationMs: number;
  p50Ms: Figure;
  p99Ms: Figure;
  maxMs: Figure;
  achievedRate: Figure;
  /** How long after the last publish the last delivery arrived, ms. */
  deliveryLagMs: Figure;
  errors: number;
  skipped: number;
}

export interface FirstAttemptFigures {
  rate: number;
  samplesPerRun: number;
  p50Ms: Figure;
  p99Ms: Figure;
  maxMs: Figure;
}

export interface FailureMixFigures {
  messages: number;
  endpoints: number;
  timingOut: number;
  requestTimeoutSeconds: number;
  /** Healthy deliveries per second, all endpoints healthy. */
  allHealthy: Figure;
  /** Healthy deliveries per second while `timingOut` endpoints never answer. */
  mixed: Figure;
  /** mixed / allHealthy, run by run. */
  ratio: Figure;
  incompleteRuns: number;
}

export interface PostgresFigures {
  /** The server as it reported itself: `version()` and the settings that bear on the figures. */
  server: { version: string; settings: Record<string, string> };
  /** Drain with an api-role node and `workers` worker-role nodes, one entry per worker count. */
  drain: Array<DrainMeasure & { workers: number }>;
  /** End to end, fan-out 1, with an api-role node and `workers` worker-role nodes. */
  endToEnd: Array<EndToEndMeasure & { workers: number }>;
  /** End to end, fan-out 1, on one all-role node: the simple deployment. */
  singleNode: EndToEndMeasure;
  /** ERROR, FATAL and PANIC lines PostgreSQL logged (not those the bench's own DROP DATABASE causes). */
  serverErrors: string[];
}

/** The SQLite scenarios of a full, quick or tiny run. */
export interface SqliteFigures {
  drain: DrainFigures[];
  drainNormal: DrainFigures;
  endToEnd: EndToEndFigures[];
  publishLatency: PublishLatencyFigures[];
  /**
   * The same open-loop generator against the bare receiver (no Hookgate): the latency floor of
   * the generator, loopback and receiver on this machine at each rate.
   */
  latencyFloor: PublishLatencyFigures[];
  /** Inbound gateway: provider request to 2xx at each offered rate; null when the build has none. */
  inboundAck: PublishLatencyFigures[] | null;
  firstAttempt: FirstAttemptFigures;
  failureMix: FailureMixFigures;
}

export interface BenchFigures extends SqliteFigures {
  rawCeiling: Figure;
  /** µs of CPU per request of the raw loop, warm-up included (Linux only; absent from older records). */
  rawCeilingCpu?: CpuFigures;
  /** Absent from records made before the PostgreSQL scenarios existed. */
  postgres?: PostgresFigures;
  hookgateErrors: string[];
}

/** A `--postgres` run: the raw ceiling and the PostgreSQL scenarios only. */
export interface PostgresRunFigures {
  rawCeiling: Figure;
  rawCeilingCpu?: CpuFigures;
  postgres: PostgresFigures;
  hookgateErrors: string[];
}

export type RunFigures = BenchFigures | PostgresRunFigures;

export function hasSqlite(f: RunFigures): f is BenchFigures {
  return 'drain' in f;
}

export interface BenchOptions {
  mode: Mode;
  huge: boolean;
  /** Measure only the raw ceiling and the PostgreSQL scenarios (`--postgres`). */
  postgresOnly: boolean;
  /** Path of Hookgate's CLI entry, dist/cli/main.js. */
  hookgateMain: string;
  log: (line: string) => void;
  /** Run every Hookgate under `node --cpu-prof`, writing profiles here (stopped gracefully). */
  cpuProfileDir?: string;
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : 'n/a';
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : 'n/a');
/** `; claims …` for a progress line, or nothing when no claim was read. */
function describeClaims(c: ClaimLatency | null): string {
  if (c === null) return '';
  return `; ${fmt(c.claims)} claims of ${fmt(c.deliveriesPerClaim, 1)} deliveries, mean ${fmt(c.meanMs, 2)} ms, p99 ≤ ${fmt(c.p99BoundMs, 2)} ms`;
}

function claimFigures(runs: ReadonlyArray<ClaimLatency | null>): ClaimFigures | undefined {
  const read = runs.filter((r): r is ClaimLatency => r !== null);
  if (read.length === 0) return undefined;
  return {
    meanMs: figure(read.map((r) => r.meanMs)),
    p99BoundMs: figure(read.map((r) => r.p99BoundMs)),
    deliveriesPerClaim: figure(read.map((r) => r.deliveriesPerClaim)),
  };
}

/** `; CPU per <unit>: …` for a progress line, or nothing when CPU was not measured. */
function describeCpu(c: CpuCost | null, unit: string): string {
  if (c === null) return '';
  const parts = Object.entries(c.parts)
    .filter(([, us]) => us >= 0.5)
    .map(([part, us]) => `${part} ${fmt(us)}`)
    .join(', ');
  const busiest = Object.entries(c.busiestThread)
    .map(([part, share]) => `${part} ${pct(share)}`)
    .join(', ');
  const waiting =
    c.waiting.hookgate === undefined
      ? ''
      : `; Hookgate threads waiting for a core ${fmt(c.waiting.hookgate, 2)}`;
  return `; CPU per ${unit} ${fmt(c.machine)} µs (${parts}; machine ${pct(c.busy)} busy; busiest threads ${busiest}${waiting})`;
}

/** Time allowed for one phase handling `n` messages: generous, but every wait is bounded. */
const budgetMs = (n: number) => 30_000 + n * 2;

/** Samples processes' RSS every 200 ms; `peak()` is the largest any of them reached since `reset()`. */
function rssSampler(nodes: HookgateNode[]) {
  let peak = 0;
  const sample = () => {
    for (const n of nodes) {
      const m = n.memory();
      if (m && m.rssMb > peak) peak = m.rssMb;
    }
  };
  const timer = setInterval(sample, 200);
  return {
    reset() {
      peak = 0;
      sample();
    },
    peak() {
      sample();
      return peak;
    },
    stop: () => clearInterval(timer),
  };
}

/** The largest peak RSS (`VmHWM`) among processes, MB. */
function peakRssOf(nodes: HookgateNode[]): number {
  return Math.max(...nodes.map((n) => n.memory()?.peakRssMb ?? Number.NaN));
}

interface PacedOnce {
  p50: number;
  p99: number;
  max: number;
  achieved: number;
  lag: number;
  errors: number;
  skipped: number;
}

function describePaced(one: PacedOnce, withDeliveries = true): string {
  const base = `p50 ${fmt(one.p50, 2)} ms, p99 ${fmt(one.p99, 2)} ms, max ${fmt(one.max, 1)} ms; achieved ${fmt(one.achieved)}/s`;
  if (!withDeliveries) return base;
  return `${base}; deliveries done ${
    Number.isNaN(one.lag) ? 'NOT within budget' : `${fmt(one.lag)} ms after the last request`
  }`;
}

function pacedFigures(rate: number, durationMs: number, runs: PacedOnce[]): PublishLatencyFigures {
  return {
    offeredRate: rate,
    durationMs,
    p50Ms: figure(runs.map((r) => r.p50)),
    p99Ms: figure(runs.map((r) => r.p99)),
    maxMs: figure(runs.map((r) => r.max)),
    achievedRate: figure(runs.map((r) => r.achieved)),
    deliveryLagMs: figure(runs.map((r) => r.lag)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    skipped: runs.reduce((n, r) => n + r.skipped, 0),
  };
}

class Bench {
  private readonly errors: string[] = [];
  private raw = Number.NaN;
  /** CPU per request of the raw loop, once measured. */
  rawCpu: CpuFigures | undefined;
  /** Running only while the PostgreSQL scenarios run. */
  private postgres: PostgresServer | null = null;

  constructor(
    private readonly o: BenchOptions,
    private readonly plan: Plan,
    private readonly receiver: ReceiverProc,
    private readonly loadgen: LoadgenProc,
  ) {}

  private deploy(setup: Setup, requestTimeoutSeconds: number): Promise<Deployment> {
    return deploy(setup, {
      main: this.o.hookgateMain,
      requestTimeoutSeconds,
      postgres: this.postgres,
      cpuProfileDir: this.o.cpuProfileDir,
    });
  }

  /** Every process a scenario runs: the deployment's, PostgreSQL's, the receiver and the generator. */
  private tracked(d: Deployment | null): Tracked[] {
    return [
      ...(d?.nodes.map((n): Tracked => ({ part: 'hookgate', pid: n.pid })) ?? []),
      ...(d && this.postgres
        ? [{ part: 'postgres' as const, pid: this.postgres.pid, withChildren: true }]
        : []),
      { part: 'receiver', pid: this.receiver.pid },
      { part: 'loadgen', pid: this.loadgen.pid },
    ];
  }

  private async finish(d: Deployment): Promise<void> {
    this.errors.push(...d.errorLines());
    await d.stop();
  }

  private publish(hg: HookgateProc, apps: string[], count: number): Promise<PublishResult> {
    return this.loadgen.run<PublishResult>(
      {
        cmd: 'publish',
        target: { base: hg.url, token: hg.token, apps, payloadBytes: this.plan.payloadBytes },
        count,
        concurrency: this.plan.concurrency,
        deadlineMs: budgetMs(count),
      },
      budgetMs(count) + 30_000,
    );
  }

  private checkPublish(r: { accepted: number; errors: number; firstError: string | null }, what: string) {
    if (r.errors > 0) this.o.log(`  ! ${what}: ${r.errors} publish errors, first: ${r.firstError}`);
    if (r.accepted === 0) throw new Error(`${what}: no message was accepted (${r.firstError})`);
  }

  /** Publishes `count` messages and waits for their deliveries, so JIT and caches are warm. */
  private async warmUp(hg: HookgateProc, apps: string[], count: number, deliveriesPerMessage: number) {
    if (count === 0) return;
    this.receiver.reset(count * deliveriesPerMessage);
    const r = await this.publish(hg, apps, count);
    this.checkPublish(r, 'warm-up');
    if ((await this.receiver.reached(budgetMs(count))) === null) throw new Error('warm-up not delivered');
  }

  async rawCeiling(): Promise<Figure> {
    const { reps, durationMs, warmupMs } = this.plan.raw;
    const runs: number[] = [];
    const cpu: Array<CpuCost | null> = [];
    for (let i = 0; i < reps; i++) {
      this.receiver.reset(0);
      const used = measureCpu(this.tracked(null));
      const r = await this.loadgen.run<RawResult>(
        {
          cmd: 'raw',
          url: this.receiver.url('/ok/raw'),
          concurrency: this.plan.concurrency,
          durationMs,
          warmupMs,
          body: messageBody(0, this.plan.payloadBytes, 0),
        },
        durationMs + warmupMs + 30_000,
      );
      cpu.push(used(r.sent));
      if (r.errors > 0) this.o.log(`  ! raw loop: ${r.errors} errors`);
      runs.push(r.rate);
      this.o.log(`raw ceiling ${i + 1}/${reps}: ${fmt(r.rate)} requests/s${describeCpu(cpu[i]!, 'request')}`);
    }
    const f = figure(runs);
    this.raw = f.median;
    this.rawCpu = cpuFigures(cpu);
    return f;
  }

  /**
   * One drain run, after a warm-up delivery of a few messages. The backlog is made through the
   * public API: every endpoint then points at the receiver's /hold path, which accepts requests
   * and answers none until released (the request timeout is an hour). Each delivering process
   * fills its in-flight slots with stuck attempts (16 per endpoint; with 16 endpoints that is
   * also its global cap of 256; W worker nodes hold W × 16 per endpoint), so everything
   * published after that stays pending in the store; Hookgate's endpoint stats must show exactly
   * published = pending + sending before the clock starts. Then each endpoint is PATCHed to /ok,
   * the held requests are answered, and the clock runs from that release until the receiver has
   * seen every one of the pending deliveries once. The stuck attempts are not counted.
   */
  private async drainOnce(setup: Setup, published: number) {
    const d = await this.deploy(setup, 3600);
    const { api: hg, admin } = d;
    const rss = rssSampler(d.deliverers);
    try {
      const apps = await admin.createApps(this.plan.apps, 1, (a) => this.receiver.url(`/ok/${a}`));
      const ids = apps.map((a) => a.id);
      // Deliver a few messages first so the delivery path is as warm for a short drain as for a long one.
      await this.warmUp(hg, ids, this.plan.e2e.warmup, 1);
      for (const app of apps) {
        await admin.call('PATCH', `/api/v1/app/${app.id}/endpoint/${app.endpoints[0]}`, {
          url: this.receiver.url(`/hold/${app.id}`),
        });
      }
      this.receiver.reset(0);
      const pub = await this.publish(hg, ids, published);
      this.checkPublish(pub, 'drain build-up');
      const setupRate = pub.accepted / ((pub.finishedAt - pub.startedAt) / 1000);
      const { pending: backlog } = await this.settledBacklog(admin, apps, pub.accepted);
      for (const app of apps) {
        await admin.call('PATCH', `/api/v1/app/${app.id}/endpoint/${app.endpoints[0]}`, {
          url: this.receiver.url(`/ok/${app.id}`),
        });
      }
      const [m10, m90] = [Math.ceil(backlog * 0.1), Math.floor(backlog * 0.9)];
      this.receiver.reset(backlog, false, [m10, m90]);
      rss.reset();
      const metrics = d.deliverers.map((n) => n.metricsUrl);
      const claimsBefore = await readClaims(metrics);
      const used = measureCpu(this.tracked(d));
      const release = await this.receiver.release();
      const reachedAt = await this.receiver.reached(budgetMs(backlog));
      const cpu = reachedAt === null ? null : used(backlog);
      const claims = claimsBetween(claimsBefore, await readClaims(metrics));
      const at10 = reachedAt === null ? null : await this.receiver.mark(1000);
      const at90 = reachedAt === null ? null : await this.receiver.mark(1000);
      const steadyRate = at10 !== null && at90 !== null ? (m90 - m10) / ((at90 - at10) / 1000) : Number.NaN;
      let delivered = backlog;
      let end = reachedAt ?? Number.NaN;
      const seen = await this.receiver.stats();
      if (reachedAt === null) {
        delivered = seen.distinct;
        end = release.at + budgetMs(backlog);
        this.o.log(`  ! drain incomplete: ${delivered} of ${backlog} delivered within the time budget`);
      }
      const rate = delivered / ((end - release.at) / 1000);
      const drainPeak = rss.peak();
      return {
        backlog,
        rate,
        steadyRate,
        setupRate,
        peakRss: peakRssOf(d.deliverers),
        drainPeak,
        cpu,
        claims,
        duplicates: seen.duplicates,
        incomplete: reachedAt === null,
      };
    } finally {
      rss.stop();
      await this.finish(d);
    }
  }

  /**
   * Waits until Hookgate's own counts settle: every accepted message is either pending (the
   * backlog) or leased to an attempt stuck on /hold ("sending"), and neither count moves.
   */
  private async settledBacklog(
    admin: AdminClient,
    apps: Array<{ id: string; endpoints: string[] }>,
    accepted: number,
  ): Promise<{ pending: number; sending: number }> {
    let last = '';
    let since = Date.now();
    const deadline = Date.now() + 30_000;
    for (;;) {
      let pending = 0;
      let sending = 0;
      for (const app of apps) {
        const s = await admin.call<{ pending: number; sending: number }>(
          'GET',
          `/api/v1/app/${app.id}/endpoint/${app.endpoints[0]}/stats`,
        );
        pending += s.pending;
        sending += s.sending;
      }
      const now = `${pending}/${sending}`;
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (pending + sending === accepted && Date.now() - since >= 500) {
        return { pending, sending };
      }
      if (Date.now() > deadline) {
        throw new Error(
          `backlog did not settle: ${pending} pending + ${sending} sending ≠ ${accepted} published`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * The drain of each setup, `reps` times; repetitions go round the setups (1, 2, 3, 1, 2, 3…)
   * so that a change in the machine's load spreads over all of them alike.
   */
  async drain(setups: Setup[], published: number, reps: number): Promise<DrainMeasure[]> {
    const runs = setups.map(() => [] as Array<Awaited<ReturnType<Bench['drainOnce']>>>);
    for (let i = 0; i < reps; i++) {
      for (const [k, setup] of setups.entries()) {
        const r = await this.drainOnce(setup, published);
        runs[k]!.push(r);
        this.o.log(
          `drain, ${describeSetup(setup)}, ${fmt(published)} published, backlog ${fmt(r.backlog)} ${i + 1}/${reps}: ` +
            `${fmt(r.rate)} deliveries/s (${pct(r.rate / this.raw)} of raw; 10–90% at ${fmt(r.steadyRate)}/s), ` +
            `built at ${fmt(r.setupRate)} msg/s, ` +
            `peak RSS ${fmt(r.peakRss)} MB (drain ${fmt(r.drainPeak)} MB)${describeClaims(r.claims)}` +
            describeCpu(r.cpu, 'delivery') +
            (r.duplicates > 0 ? `; ${r.duplicates} duplicate deliveries` : ''),
        );
      }
    }
    return runs.map((rs) => {
      const rate = figure(rs.map((r) => r.rate));
      return {
        published,
        backlog: figure(rs.map((r) => r.backlog)),
        rate,
        steadyRate: figure(rs.map((r) => r.steadyRate)),
        ratioToRaw: ratio(rate, this.raw),
        setupRate: figure(rs.map((r) => r.setupRate)),
        peakRssMb: figure(rs.map((r) => r.peakRss)),
        drainPeakRssMb: figure(rs.map((r) => r.drainPeak)),
        cpu: cpuFigures(rs.map((r) => r.cpu)),
        claims: claimFigures(rs.map((r) => r.claims)),
        duplicates: rs.reduce((n, r) => n + r.duplicates, 0),
        incompleteRuns: rs.filter((r) => r.incomplete).length,
      };
    });
  }

  /** Publish `messages` over HTTP (closed loop) and time from the first publish to the last arrival. */
  private async endToEndOnce(setup: Setup, fanout: number, messages: number) {
    const d = await this.deploy(setup, 15);
    const { api: hg, admin } = d;
    try {
      const apps = await admin.createApps(this.plan.apps, fanout, (a, k) =>
        this.receiver.url(`/ok/${a}/${k}`),
      );
      const ids = apps.map((a) => a.id);
      await this.warmUp(hg, ids, Math.min(Math.ceil(this.plan.e2e.warmup / fanout), messages), fanout);
      const target = messages * fanout;
      this.receiver.reset(target);
      const reached = this.receiver.reached(budgetMs(target) + budgetMs(messages));
      const used = measureCpu(this.tracked(d));
      const pub = await this.publish(hg, ids, messages);
      this.checkPublish(pub, 'end to end');
      const reachedAt = await reached;
      const cpu = reachedAt === null ? null : used(target);
      let delivered = target;
      let end = reachedAt ?? Number.NaN;
      const seen = await this.receiver.stats();
      if (reachedAt === null || pub.accepted < messages) {
        delivered = seen.distinct;
        end = performance.timeOrigin + performance.now();
        this.o.log(`  ! end to end incomplete: ${delivered} of ${target} deliveries`);
      }
      const seconds = (end - pub.startedAt) / 1000;
      return {
        msgs: delivered / fanout / seconds,
        deliveries: delivered / seconds,
        publishRate: pub.accepted / ((pub.finishedAt - pub.startedAt) / 1000),
        peakRss: peakRssOf(d.deliverers),
        cpu,
        duplicates: seen.duplicates,
        incomplete: delivered < target,
      };
    } finally {
      await this.finish(d);
    }
  }

  /** End to end for each setup, `reps` times, going round the setups as `drain` does. */
  async endToEnd(
    setups: Setup[],
    fanout: number,
    messages: number,
    reps: number,
  ): Promise<EndToEndMeasure[]> {
    const runs = setups.map(() => [] as Array<Awaited<ReturnType<Bench['endToEndOnce']>>>);
    for (let i = 0; i < reps; i++) {
      for (const [k, setup] of setups.entries()) {
        const r = await this.endToEndOnce(setup, fanout, messages);
        runs[k]!.push(r);
        this.o.log(
          `end to end, ${describeSetup(setup)}, fan-out ${fanout}, ${fmt(messages)} messages ${i + 1}/${reps}: ` +
            `${fmt(r.msgs)} msg/s = ${fmt(r.deliveries)} deliveries/s (${pct(r.deliveries / this.raw)} of raw), ` +
            `publish alone ${fmt(r.publishRate)} msg/s${describeCpu(r.cpu, 'delivery')}` +
            (r.duplicates > 0 ? `; ${r.duplicates} duplicate deliveries` : ''),
        );
      }
    }
    return runs.map((rs) => {
      const deliveries = figure(rs.map((r) => r.deliveries));
      return {
        fanout,
        messages,
        messagesPerSecond: figure(rs.map((r) => r.msgs)),
        deliveriesPerSecond: deliveries,
        ratioToRaw: ratio(deliveries, this.raw),
        publishRate: figure(rs.map((r) => r.publishRate)),
        peakRssMb: figure(rs.map((r) => r.peakRss)),
        cpu: cpuFigures(rs.map((r) => r.cpu)),
        duplicates: rs.reduce((n, r) => n + r.duplicates, 0),
        incompleteRuns: rs.filter((r) => r.incomplete).length,
      };
    });
  }

  /**
   * The PostgreSQL scenarios, on a server started for them and stopped afterwards: the drain and
   * end to end with an api-role node and each count of worker-role nodes, and end to end on one
   * all-role node.
   */
  async postgresScenarios(): Promise<PostgresFigures> {
    const P = this.plan.postgres;
    return this.withPostgres(async (server) => {
      const split = P.workers.map((workers): Setup => ({ store: 'postgres', workers }));
      const drain = await this.drain(split, P.drain.published, P.drain.reps);
      const e2e = await this.endToEnd(
        [...split, { store: 'postgres', workers: 0 }],
        1,
        P.e2e.messages,
        P.e2e.reps,
      );
      return {
        server: { version: server.version, settings: server.settings },
        drain: drain.map((m, k) => ({ workers: P.workers[k]!, ...m })),
        endToEnd: e2e.slice(0, split.length).map((m, k) => ({ workers: P.workers[k]!, ...m })),
        singleNode: e2e[split.length]!,
        serverErrors: server.errorLines(),
      };
    });
  }

  /** Runs `run` with a PostgreSQL server started for it and stopped afterwards. */
  async withPostgres<T>(run: (server: PostgresServer) => Promise<T>): Promise<T> {
    const started = Date.now();
    const server = await startPostgres();
    this.postgres = server;
    this.o.log(`PostgreSQL started in ${fmt((Date.now() - started) / 1000, 1)} s: ${server.version}`);
    try {
      return await run(server);
    } finally {
      await server.stop();
      this.postgres = null;
    }
  }

  /**
   * Latency, one Hookgate per repetition: first publish-to-first-attempt on an otherwise idle
   * system (one message at a time at a low paced rate, send time in the payload, compared with
   * the receiver's arrival clock), then publish latency at each fixed offered rate (open loop:
   * measured from each request's scheduled send time, so a stalled server cannot hide it).
   */
  async latency(): Promise<{
    publish: PublishLatencyFigures[];
    floor: PublishLatencyFigures[];
    inbound: PublishLatencyFigures[] | null;
    firstAttempt: FirstAttemptFigures;
  }> {
    const L = this.plan.latency;
    const first: Array<{ p50: number; p99: number; max: number }> = [];
    const byRate = new Map<number, PacedOnce[]>();
    const inboundByRate = new Map<number, PacedOnce[]>();
    const floorByRate = new Map<number, PacedOnce[]>();
    for (let i = 0; i < L.reps; i++) {
      for (const rate of L.rates) {
        const one = await this.floorOnce(rate);
        floorByRate.set(rate, [...(floorByRate.get(rate) ?? []), one]);
        this.o.log(
          `generator floor (bare receiver) at ${fmt(rate)} req/s ${i + 1}/${L.reps}: ${describePaced(one, false)}`,
        );
      }
      const d = await this.deploy(SQLITE_FULL, 15);
      const { api: hg, admin } = d;
      try {
        const apps = (await admin.createApps(this.plan.apps, 1, (a) => this.receiver.url(`/ok/${a}`))).map(
          (a) => a.id,
        );
        const target: PublishTarget = {
          base: hg.url,
          token: hg.token,
          apps,
          payloadBytes: this.plan.payloadBytes,
        };
        await this.warmUp(hg, apps, L.warmup, 1);

        this.receiver.reset(L.idleSamples, true);
        const idle = await this.loadgen.run<PacedResult>(
          {
            cmd: 'paced',
            target,
            rate: L.idleRate,
            warmupMs: 0,
            durationMs: (L.idleSamples / L.idleRate) * 1000,
            maxOutstanding: 1000,
          },
          budgetMs(L.idleSamples) + (L.idleSamples / L.idleRate) * 1000,
        );
        this.checkPublish(idle, 'idle latency');
        await this.receiver.reached(budgetMs(L.idleSamples));
        const { latencies } = await this.receiver.stats();
        const f = {
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          max: percentile(latencies, 100),
        };
        first.push(f);
        this.o.log(
          `publish → first attempt, idle (${L.idleRate} msg/s) ${i + 1}/${L.reps}: p50 ${fmt(f.p50, 2)} ms, ` +
            `p99 ${fmt(f.p99, 2)} ms, max ${fmt(f.max, 2)} ms (${latencies.length} samples)`,
        );

        for (const rate of L.rates) {
          const one = await this.pacedOnce(target, rate);
          byRate.set(rate, [...(byRate.get(rate) ?? []), one]);
          this.o.log(`publish latency at ${fmt(rate)} msg/s ${i + 1}/${L.reps}: ${describePaced(one)}`);
        }

        const source = await this.inboundSource(admin);
        if (source === null) {
          if (i === 0) this.o.log('inbound ack: this Hookgate build has no inbound gateway; not measured');
          continue;
        }
        for (const rate of L.rates) {
          const one = await this.pacedOnce(
            { ...target, inbound: { ...source, runId: `r${i}-${rate}` } },
            rate,
          );
          inboundByRate.set(rate, [...(inboundByRate.get(rate) ?? []), one]);
          this.o.log(`inbound ack at ${fmt(rate)} requests/s ${i + 1}/${L.reps}: ${describePaced(one)}`);
        }
      } finally {
        await this.finish(d);
      }
    }
    return {
      firstAttempt: {
        rate: L.idleRate,
        samplesPerRun: L.idleSamples,
        p50Ms: figure(first.map((f) => f.p50)),
        p99Ms: figure(first.map((f) => f.p99)),
        maxMs: figure(first.map((f) => f.max)),
      },
      publish: L.rates.map((rate) => pacedFigures(rate, L.durationMs, byRate.get(rate) ?? [])),
      floor: L.rates.map((rate) => pacedFigures(rate, L.durationMs, floorByRate.get(rate) ?? [])),
      inbound:
        inboundByRate.size === 0
          ? null
          : L.rates.map((rate) => pacedFigures(rate, L.durationMs, inboundByRate.get(rate) ?? [])),
    };
  }

  /**
   * Open-loop requests at `rate`: an unmeasured warm-up at that rate, then the measured duration;
   * then waits until every request has been delivered (so the next phase starts on a drained
   * system).
   */
  private async pacedOnce(target: PublishTarget, rate: number): Promise<PacedOnce> {
    const L = this.plan.latency;
    const offered = Math.round((rate * L.durationMs) / 1000);
    const sent = Math.round((rate * L.rateWarmupMs) / 1000) + offered;
    this.receiver.reset(sent);
    const r = await this.loadgen.run<PacedResult>(
      {
        cmd: 'paced',
        target,
        rate,
        warmupMs: L.rateWarmupMs,
        durationMs: L.durationMs,
        maxOutstanding: 10_000,
      },
      L.rateWarmupMs + L.durationMs + budgetMs(sent),
    );
    if (r.sent !== sent) throw new Error(`paced run sent ${r.sent}, expected ${sent}`);
    this.checkPublish(r, `paced ${rate}/s`);
    const reachedAt = await this.receiver.reached(budgetMs(offered));
    return {
      p50: percentile(r.latencies, 50),
      p99: percentile(r.latencies, 99),
      max: percentile(r.latencies, 100),
      achieved: r.accepted / ((r.finishedAt - r.startedAt) / 1000),
      lag: reachedAt === null ? Number.NaN : reachedAt - r.finishedAt,
      errors: r.errors,
      skipped: r.skipped,
    };
  }

  /** The paced generator straight at the receiver: same requests, no Hookgate in between. */
  private async floorOnce(rate: number): Promise<PacedOnce> {
    const L = this.plan.latency;
    const offered = Math.round((rate * L.durationMs) / 1000);
    this.receiver.reset(0);
    const target: PublishTarget = {
      base: this.receiver.url(''),
      token: 'none',
      apps: ['floor'],
      payloadBytes: this.plan.payloadBytes,
    };
    const r = await this.loadgen.run<PacedResult>(
      {
        cmd: 'paced',
        target,
        rate,
        warmupMs: L.rateWarmupMs,
        durationMs: L.durationMs,
        maxOutstanding: 10_000,
      },
      L.rateWarmupMs + L.durationMs + budgetMs(offered),
    );
    this.checkPublish(r, `generator floor ${rate}/s`);
    return {
      p50: percentile(r.latencies, 50),
      p99: percentile(r.latencies, 99),
      max: percentile(r.latencies, 100),
      achieved: r.accepted / ((r.finishedAt - r.startedAt) / 1000),
      lag: Number.NaN,
      errors: r.errors,
      skipped: r.skipped,
    };
  }

  /** A generic-webhook inbound source forwarding to the receiver, or null if the build has none. */
  private async inboundSource(admin: AdminClient): Promise<{ url: string; secret: string } | null> {
    const secret = 'bench-inbound-secret';
    let source: { id: string; ingestUrl: string };
    try {
      source = await admin.call<{ id: string; ingestUrl: string }>('POST', '/ingest/api/v1/source', {
        name: 'bench',
        type: 'generic-webhook',
        config: { secret },
      });
    } catch (e) {
      if (/HTTP 404/.test(String(e))) return null;
      throw e;
    }
    await admin.call('POST', `/ingest/api/v1/source/${source.id}/endpoint`, {
      url: this.receiver.url('/ok/in'),
    });
    return { url: source.ingestUrl, secret };
  }

  /**
   * Failure mix: `endpoints` applications with one endpoint each, messages round-robin over them.
   * In the mixed run `timingOut` of them point at /hang (never answered; Hookgate's request
   * timeout ends each attempt). Healthy deliveries per second from the first publish to the
   * last healthy arrival, compared with the same run where every endpoint is healthy.
   */
  private async mixOnce(timingOut: number): Promise<{ rate: number; incomplete: boolean }> {
    const M = this.plan.mix;
    const d = await this.deploy(SQLITE_FULL, M.requestTimeoutSeconds);
    const { api: hg, admin } = d;
    try {
      const every = Math.round(M.endpoints / Math.max(1, timingOut));
      const hangs = (a: number) => timingOut > 0 && a % every === 0 && a / every < timingOut;
      const apps = await admin.createApps(M.endpoints, 1, (a) =>
        this.receiver.url(hangs(a) ? `/hang/${a}` : `/ok/${a}`),
      );
      let healthy = 0;
      for (let i = 0; i < M.messages; i++) if (!hangs(i % M.endpoints)) healthy++;
      this.receiver.reset(healthy);
      const reached = this.receiver.reached(budgetMs(M.messages) * 2);
      const pub = await this.publish(
        hg,
        apps.map((a) => a.id),
        M.messages,
      );
      this.checkPublish(pub, 'failure mix');
      const reachedAt = await reached;
      if (reachedAt === null) {
        const s = await this.receiver.stats();
        const now = performance.timeOrigin + performance.now();
        this.o.log(`  ! failure mix incomplete: ${s.distinct} of ${healthy} healthy deliveries`);
        return { rate: s.distinct / ((now - pub.startedAt) / 1000), incomplete: true };
      }
      return { rate: healthy / ((reachedAt - pub.startedAt) / 1000), incomplete: false };
    } finally {
      await this.finish(d);
    }
  }

  async failureMix(): Promise<FailureMixFigures> {
    const M = this.plan.mix;
    const healthy: number[] = [];
    const mixed: number[] = [];
    let incomplete = 0;
    for (let i = 0; i < M.reps; i++) {
      const h = await this.mixOnce(0);
      const m = await this.mixOnce(M.timingOut);
      healthy.push(h.rate);
      mixed.push(m.rate);
      incomplete += Number(h.incomplete) + Number(m.incomplete);
      this.o.log(
        `failure mix ${i + 1}/${M.reps}: all healthy ${fmt(h.rate)} deliveries/s; with ${M.timingOut} of ` +
          `${M.endpoints} endpoints timing out ${fmt(m.rate)} healthy deliveries/s (${pct(m.rate / h.rate)})`,
      );
    }
    const allHealthy = figure(healthy);
    const mixedF = figure(mixed);
    return {
      messages: M.messages,
      endpoints: M.endpoints,
      timingOut: M.timingOut,
      requestTimeoutSeconds: M.requestTimeoutSeconds,
      allHealthy,
      mixed: mixedF,
      ratio: pairedRatio(mixedF, allHealthy),
      incompleteRuns: incomplete,
    };
  }

  hookgateErrors(): string[] {
    return this.errors;
  }
}

/** One SQLite setup's drain or end to end, labelled with its synchronous mode as before. */
async function sqlite<M>(synchronous: Synchronous, measure: (setups: Setup[]) => Promise<M[]>) {
  const [m] = await measure([{ store: 'sqlite', synchronous }]);
  return { synchronous, ...m! };
}

/** The SQLite scenarios of the plan, in order. */
async function sqliteScenarios(b: Bench, plan: Plan): Promise<SqliteFigures> {
  const drain: DrainFigures[] = [];
  for (const d of plan.drain) drain.push(await sqlite('FULL', (s) => b.drain(s, d.backlog, d.reps)));
  const drainNormal = await sqlite('NORMAL', (s) => b.drain(s, plan.normal.backlog, plan.normal.reps));
  const endToEnd = [
    await sqlite('FULL', (s) => b.endToEnd(s, 1, plan.e2e.fanout1, plan.e2e.reps)),
    await sqlite('FULL', (s) => b.endToEnd(s, 10, plan.e2e.fanout10, plan.e2e.reps)),
    await sqlite('NORMAL', (s) => b.endToEnd(s, 1, plan.normal.e2eMessages, plan.normal.reps)),
  ];
  const latency = await b.latency();
  const failureMix = await b.failureMix();
  return {
    drain,
    drainNormal,
    endToEnd,
    publishLatency: latency.publish,
    latencyFloor: latency.floor,
    inboundAck: latency.inbound,
    firstAttempt: latency.firstAttempt,
    failureMix,
  };
}

/** Starts the receiver and the load generator for `run`, and stops them however it ends. */
async function withBench<T>(o: BenchOptions, plan: Plan, run: (b: Bench) => Promise<T>): Promise<T> {
  const receiver = await startReceiver();
  const loadgen = await startLoadgen();
  try {
    return await run(new Bench(o, plan, receiver, loadgen));
  } finally {
    receiver.stop();
    loadgen.stop();
  }
}

/** SQLite FULL drains of `published` messages alone (to profile or compare the delivery path). */
export function runDrain(
  o: BenchOptions,
  plan: Plan,
  published: number,
  reps: number,
): Promise<DrainFigures> {
  return withBench(o, plan, async (b) => {
    await b.rawCeiling();
    return sqlite('FULL', (s) => b.drain(s, published, reps));
  });
}

/** End-to-end fan-out-1 runs of `messages` alone on SQLite FULL (to compare builds quickly). */
export function runEndToEnd(
  o: BenchOptions,
  plan: Plan,
  messages: number,
  reps: number,
): Promise<EndToEndFigures> {
  return withBench(o, plan, async (b) => {
    await b.rawCeiling();
    return sqlite('FULL', (s) => b.endToEnd(s, 1, messages, reps));
  });
}

/** Drains of `published` messages alone on PostgreSQL, an api node and one worker (to compare builds). */
export function runDrainPostgres(
  o: BenchOptions,
  plan: Plan,
  published: number,
  reps: number,
): Promise<DrainMeasure[]> {
  return withBench(o, plan, async (b) => {
    await b.rawCeiling();
    return b.withPostgres(() => b.drain([{ store: 'postgres', workers: 1 }], published, reps));
  });
}

/**
 * End-to-end fan-out-1 runs of `messages` alone on PostgreSQL, with an api node and one worker
 * and on one all-role node (to compare builds on the PostgreSQL publish path).
 */
export function runEndToEndPostgres(
  o: BenchOptions,
  plan: Plan,
  messages: number,
  reps: number,
): Promise<EndToEndMeasure[]> {
  return withBench(o, plan, async (b) => {
    await b.rawCeiling();
    return b.withPostgres(() =>
      b.endToEnd(
        [
          { store: 'postgres', workers: 1 },
          { store: 'postgres', workers: 0 },
        ],
        1,
        messages,
        reps,
      ),
    );
  });
}

/** The latency scenarios alone on SQLite FULL, at the plan's sizes (to compare builds). */
export function runLatency(o: BenchOptions, plan: Plan): Promise<void> {
  return withBench(o, plan, async (b) => {
    await b.latency();
  });
}

/**
 * Runs every scenario of the plan in order (the raw ceiling, SQLite, then PostgreSQL), or only
 * the raw ceiling and PostgreSQL; children are started here and stopped before it returns.
 */
export function runBench(o: BenchOptions, plan: Plan): Promise<RunFigures> {
  return withBench(o, plan, async (b) => {
    const rawCeiling = await b.rawCeiling();
    const sqliteFigures = o.postgresOnly ? null : await sqliteScenarios(b, plan);
    const postgres = await b.postgresScenarios();
    return {
      rawCeiling,
      rawCeilingCpu: b.rawCpu,
      ...sqliteFigures,
      postgres,
      hookgateErrors: b.hookgateErrors(),
    };
  });
}
