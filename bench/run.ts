/**
 * `npm run bench` entry point.
 *
 *   npm run bench                 full run (a few minutes), updates BENCHMARKS.md and bench/results/full.json
 *   npm run bench -- --quick      under a minute, updates the quick section and bench/results/quick.json
 *   npm run bench -- --huge       full run plus a 1M backlog (long)
 *   npm run bench -- --postgres   only the raw ceiling and the PostgreSQL scenarios (with --quick: smaller)
 *   npm run bench -- --profile    one end-to-end run with Hookgate under `node --cpu-prof`, top self times
 *   --profile-drain               the same for one drain of a backlog (the delivery path alone)
 *   --drain                       only the raw ceiling and three drains (--messages, default 20000)
 *   --e2e                         only the raw ceiling and three end-to-end fan-out-1 runs (--messages)
 *   --e2e --postgres              the same on PostgreSQL: an api node with one worker, then one all-role node
 *   --drain --postgres            three drains on PostgreSQL, an api node with one worker (--messages)
 *   --latency                     only the latency scenarios, at the full run's sizes
 *   --store-cycle                 the SQLite store's CPU per delivery without HTTP (bench/store-cycle.ts)
 *   --tiny --out <file>           smoke size for tests: writes only the JSON to <file>
 *   --hookgate <main.js>          measure another build (default: dist/cli/main.js of this checkout)
 *   --apps <n>                    spread messages over n applications (default 16; 1 = one endpoint)
 *   --render <results.json>       rewrite that run's BENCHMARKS.md section from its JSON (no run)
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BenchOptions,
  type Mode,
  planFor,
  runBench,
  runDrain,
  runDrainPostgres,
  runEndToEnd,
  runEndToEndPostgres,
  runLatency,
} from './harness.js';
import { adminClient, installCleanup, killAll, startHookgate, startLoadgen, startReceiver } from './procs.js';
import { formatProfile, summariseProfile } from './profile.js';
import type { PublishResult } from './protocol.js';
import {
  type BenchRecord,
  checkTargets,
  consoleTable,
  markdownSection,
  type RunMeta,
  sectionKey,
  updateBenchmarksMd,
} from './report.js';
import { figure } from './stats.js';
import type { StoreCycleResult } from './store-cycle.js';

function packageRoot(from: string): string {
  let dir = from;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'hookgate') {
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`no hookgate package.json above ${from}`);
    dir = up;
  }
}

/** One scenario alone, printed and not recorded: for profiling or comparing two builds. */
type Single = 'profile' | 'profile-drain' | 'drain' | 'e2e' | 'latency' | 'store-cycle';
const SINGLE_FLAGS: Record<string, Single> = {
  '--profile': 'profile',
  '--profile-drain': 'profile-drain',
  '--drain': 'drain',
  '--e2e': 'e2e',
  '--latency': 'latency',
  '--store-cycle': 'store-cycle',
};

interface Args {
  mode: Mode;
  huge: boolean;
  postgresOnly: boolean;
  single: Single | null;
  messages: number | null;
  out: string | null;
  markdown: boolean;
  hookgate: string | null;
  apps: number | null;
  render: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    mode: 'full',
    huge: false,
    postgresOnly: false,
    single: null,
    messages: null,
    out: null,
    markdown: true,
    hookgate: null,
    apps: null,
    render: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.mode = 'quick';
    else if (a === '--tiny') args.mode = 'tiny';
    else if (a === '--full') args.mode = 'full';
    else if (a === '--huge') args.huge = true;
    else if (a === '--postgres') args.postgresOnly = true;
    else if (SINGLE_FLAGS[a]) {
      if (args.single) throw new Error(`--${args.single} and ${a} do not go together`);
      args.single = SINGLE_FLAGS[a];
    } else if (a === '--messages') args.messages = Number(value());
    else if (a === '--out') args.out = resolve(value());
    else if (a === '--no-markdown') args.markdown = false;
    else if (a === '--hookgate') args.hookgate = resolve(value());
    else if (a === '--apps') args.apps = Number(value());
    else if (a === '--render') args.render = resolve(value());
    else throw new Error(`unknown option ${a} (see bench/run.ts)`);
  }
  if (args.mode === 'tiny') args.markdown = false;
  if (args.huge && args.postgresOnly) throw new Error('--huge and --postgres do not go together');
  return args;
}

function git(root: string, args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

function machine() {
  const cpu = cpus();
  return {
    cores: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${platform()} ${release()}`,
    totalMemoryGb: totalmem() / 1024 ** 3,
  };
}

/**
 * Copies this checkout's dist/ aside for the run, so a rebuild while the bench runs (another
 * terminal's `npm test`) cannot mix two builds into one set of figures. Packages still resolve
 * from the checkout's node_modules, and package.json's "type" still applies, from .tmp/.
 */
function snapshotBuild(root: string, main: string): string {
  const dist = join(root, 'dist');
  if (!main.startsWith(`${dist}/`)) return main;
  const copy = join(root, '.tmp', `bench-hookgate-${process.pid}`);
  cpSync(dist, join(copy, 'dist'), { recursive: true });
  process.on('exit', () => rmSync(copy, { recursive: true, force: true }));
  return join(copy, main.slice(root.length + 1));
}

const started = Date.now();
const loadAtStart = loadavg()[0]!;
function log(line: string): void {
  const s = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[${s}s] ${line}\n`);
}

/** One end-to-end fan-out-1 run with Hookgate under --cpu-prof; prints where its CPU time went. */
async function profile(root: string, main: string, messages: number): Promise<void> {
  const dir = join(root, '.tmp', 'bench-profile');
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const receiver = await startReceiver();
  const loadgen = await startLoadgen();
  const hg = await startHookgate({
    main,
    store: { kind: 'sqlite', synchronous: 'FULL' },
    requestTimeoutSeconds: 15,
    cpuProfileDir: dir,
  });
  const admin = adminClient(hg);
  try {
    const apps = await admin.createApps(16, 1, (a) => receiver.url(`/ok/${a}`));
    receiver.reset(messages);
    const reached = receiver.reached(60_000 + messages * 2);
    log(`profiling: publishing ${messages} messages, fan-out 1, 16 applications`);
    const pub = await loadgen.run<PublishResult>(
      {
        cmd: 'publish',
        target: { base: hg.url, token: hg.token, apps: apps.map((a) => a.id), payloadBytes: 256 },
        count: messages,
        concurrency: 64,
        deadlineMs: 60_000 + messages * 2,
      },
      90_000 + messages * 2,
    );
    const at = await reached;
    if (at === null) throw new Error('profiled run did not deliver everything in time');
    log(
      `delivered ${messages} in ${((at - pub.startedAt) / 1000).toFixed(2)} s; stopping Hookgate to write the profile`,
    );
  } finally {
    await admin.close();
    await hg.stop(true);
    receiver.stop();
    loadgen.stop();
  }
  printProfile(root, dir, before);
}

/** Options for a single scenario at `mode`'s sizes (nothing recorded, no PostgreSQL). */
function singleOptions(mode: Mode, hookgateMain: string, cpuProfileDir?: string): BenchOptions {
  return { mode, huge: false, postgresOnly: false, hookgateMain, log, cpuProfileDir };
}

/** A drain of a backlog with Hookgate under --cpu-prof: the delivery path without the API. */
async function profileDrain(root: string, main: string, messages: number): Promise<void> {
  const dir = join(root, '.tmp', 'bench-profile');
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  await runDrain(singleOptions('quick', main, dir), planFor('quick', false), messages, 1);
  printProfile(root, dir, before);
}

/** Runs one scenario alone; every throughput one also measures the raw ceiling first. */
async function single(which: Single, root: string, hookgateMain: string, messages: number): Promise<void> {
  const quick = singleOptions('quick', hookgateMain);
  if (which === 'profile') await profile(root, hookgateMain, messages);
  else if (which === 'profile-drain') await profileDrain(root, hookgateMain, messages);
  else if (which === 'drain') await runDrain(quick, planFor('quick', false), messages, 3);
  else if (which === 'e2e') await runEndToEnd(quick, planFor('quick', false), messages, 3);
  else if (which === 'store-cycle') storeCycles(hookgateMain, messages);
  else await runLatency(singleOptions('full', hookgateMain), planFor('full', false));
}

/** Claim batches the store cycle is measured at: the dispatcher's claims in a drain are 40 or so. */
const STORE_CYCLE_BATCHES = [20, 40, 80, 160];

/** Three store cycles per claim batch, each in a child process of its own; prints µs of CPU per delivery. */
function storeCycles(hookgateMain: string, messages: number): void {
  const dist = dirname(dirname(hookgateMain));
  const script = join(dirname(fileURLToPath(import.meta.url)), 'store-cycle.js');
  const range = (xs: number[]) => {
    const f = figure(xs);
    return `${f.median.toFixed(1)} (${f.min.toFixed(1)}–${f.max.toFixed(1)})`;
  };
  log(`store cycle: ${messages} deliveries over 16 endpoints, claimed and recorded, µs of CPU per delivery`);
  for (const batch of STORE_CYCLE_BATCHES) {
    const runs = [1, 2, 3].map(() => {
      const out = execFileSync(process.execPath, [script, dist, String(messages), String(batch)]).toString();
      return JSON.parse(out) as StoreCycleResult;
    });
    log(
      `claims of ${batch}: claim ${range(runs.map((r) => r.claimUs))}, record ${range(runs.map((r) => r.recordUs))}, ` +
        `both ${range(runs.map((r) => r.claimUs + r.recordUs))}`,
    );
  }
}

function printProfile(root: string, dir: string, before: Set<string>): void {
  // Every thread writes a profile (SQLite's checkpointer has one): the event loop's is the largest.
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
    .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  const text = formatProfile(summariseProfile(join(dir, file), root));
  writeFileSync(join(dir, `${file}.txt`), `${text}\n`);
  process.stdout.write(`\n${text}\n\nprofile: ${join(dir, file)} (open in Chrome DevTools › Performance)\n`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = packageRoot(dirname(fileURLToPath(import.meta.url)));
  const builtMain = args.hookgate ?? join(root, 'dist', 'cli', 'main.js');
  if (!existsSync(builtMain)) throw new Error(`${builtMain} not found: run npm run build first`);
  installCleanup();
  const hookgateMain = snapshotBuild(root, builtMain);
  const limitS = args.huge ? 7200 : args.mode === 'full' ? 2700 : args.mode === 'quick' ? 420 : 180;
  setTimeout(() => {
    process.stderr.write(`bench: time limit of ${limitS} s reached, stopping\n`);
    killAll();
    process.exit(1);
  }, limitS * 1000).unref();

  if (args.render) {
    const record = JSON.parse(readFileSync(args.render, 'utf8')) as BenchRecord;
    Object.assign(record, checkTargets(record.figures, record.meta.machine.cores));
    const key = sectionKey(
      record.meta,
      record.plan.drain.some((d) => d.backlog >= 1_000_000),
    );
    writeFileSync(args.render, `${JSON.stringify(record, null, 2)}\n`);
    updateBenchmarksMd(join(root, 'BENCHMARKS.md'), key, markdownSection(record, key));
    process.stdout.write(`BENCHMARKS.md: ${key} section rendered from ${args.render}\n`);
    return;
  }

  if ((args.single === 'e2e' || args.single === 'drain') && args.postgresOnly) {
    const quick = singleOptions('quick', hookgateMain);
    const run = args.single === 'e2e' ? runEndToEndPostgres : runDrainPostgres;
    await run(quick, planFor('quick', false), args.messages ?? 5_000, 3);
    return;
  }
  if (args.single) {
    await single(args.single, root, hookgateMain, args.messages ?? 20_000);
    return;
  }

  // What is measured: the commit the build came from, taken before the run starts.
  const hookgateRoot = packageRoot(dirname(builtMain));
  const status = git(hookgateRoot, ['status', '--porcelain', '--', 'src']);
  const source = {
    commit: git(hookgateRoot, ['rev-parse', '--short', 'HEAD']),
    srcModified: status === null ? null : status.length > 0,
  };
  const plan = planFor(args.mode, args.huge);
  if (args.apps !== null) plan.apps = args.apps;
  const m = machine();
  log(`Hookgate bench, ${args.mode} mode: ${m.cores} × ${m.cpuModel}, Node ${m.node}`);
  const options: BenchOptions = {
    mode: args.mode,
    huge: args.huge,
    postgresOnly: args.postgresOnly,
    hookgateMain,
    log,
  };
  const figures = await runBench(options, plan);
  const extra = process.argv.slice(2).join(' ');
  const meta: RunMeta = {
    command:
      process.env.npm_lifecycle_event === 'bench'
        ? `npm run bench${extra ? ` -- ${extra}` : ''}`
        : `node ${process.argv.slice(1).join(' ')}`,
    mode: args.mode,
    date: new Date(started).toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: m,
    loadAverage: { start: loadAtStart, end: loadavg()[0]! },
    ...source,
    ...(args.postgresOnly ? { postgresOnly: true } : {}),
  };
  const { targets, notMeasured } = checkTargets(figures, m.cores);
  const record: BenchRecord = { meta, plan, figures, targets, notMeasured };

  process.stdout.write(`\n${consoleTable(figures, m.cores)}\n\n`);
  for (const t of targets) {
    const mark = t.met === null ? '  -' : t.met ? ' ok' : 'MISS';
    process.stdout.write(`${mark.padStart(4)}  ${t.figure} (${t.target}): ${t.measured}: ${t.verdict}\n`);
  }
  // A --huge or --postgres run is recorded beside the regular full run rather than replacing it.
  const key = sectionKey(meta, args.huge);
  const out = args.out ?? join(root, 'bench', 'results', `${key}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(record, null, 2)}\n`);
  process.stdout.write(`\nJSON: ${out}\n`);
  if (args.markdown) {
    const md = join(root, 'BENCHMARKS.md');
    updateBenchmarksMd(md, key, markdownSection(record, key));
    process.stdout.write(`BENCHMARKS.md: ${key} section updated\n`);
  }
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    killAll();
    process.exit(1);
  },
);
