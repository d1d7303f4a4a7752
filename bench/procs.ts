/**
 * Child processes of a bench run: Hookgate itself, the receiver and the load generator. Every
 * child is tracked and killed when the runner exits, fails or is interrupted; children also exit
 * on their own when the runner's IPC channel closes. Servers that are not forked children
 * (PostgreSQL) register a synchronous emergency stop with `onKillAll`.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import type {
  LoadCommand,
  LoadEvent,
  LoadResult,
  ReceiverCommand,
  ReceiverEvent,
  ReceiverStats,
} from './protocol.js';

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
const emergencyStops = new Set<() => void>();
let cleanupInstalled = false;

/**
 * Registers a synchronous stop for a server the runner started some other way; `killAll` calls
 * it before removing temporary directories (the server's data may live in one). Returns the
 * function that unregisters it, for when the server was stopped normally.
 */
export function onKillAll(stop: () => void): () => void {
  emergencyStops.add(stop);
  return () => emergencyStops.delete(stop);
}

/** Kills every child still running and removes temporary directories. Safe to call twice. */
export function killAll(): void {
  for (const stop of emergencyStops) {
    try {
      stop();
    } catch (e) {
      process.stderr.write(`bench: emergency stop failed: ${String(e)}\n`);
    }
  }
  emergencyStops.clear();
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Children die with the runner: on normal exit, on an uncaught error and on SIGINT/SIGTERM. */
export function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping children\n`);
      killAll();
      process.exit(130);
    });
  }
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

function moduleBeside(name: string): string {
  return fileURLToPath(new URL(`./${name}`, import.meta.url));
}

/** Events from a child, buffered until someone asks for them. */
class Inbox<E extends { type: string }> {
  private readonly queued: E[] = [];
  private readonly waiters: Array<{ type: string; resolve: (e: E) => void; reject: (e: Error) => void }> = [];
  private failure: Error | null = null;

  push(event: E): void {
    const i = this.waiters.findIndex((w) => w.type === event.type);
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(event);
    else this.queued.push(event);
  }

  /** The child is gone: whoever waits learns it now rather than at their timeout. */
  fail(error: Error): void {
    this.failure = error;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  drop(type: E['type']): void {
    for (let i = this.queued.length - 1; i >= 0; i--)
      if (this.queued[i]!.type === type) this.queued.splice(i, 1);
  }

  /** The next event of `type`, or null after `timeoutMs`. */
  next<T extends E['type']>(type: T, timeoutMs: number): Promise<Extract<E, { type: T }> | null> {
    type Found = Extract<E, { type: T }>;
    const i = this.queued.findIndex((e) => e.type === type);
    if (i >= 0) return Promise.resolve(this.queued.splice(i, 1)[0] as Found);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Found | null>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
      };
      const waiter = {
        type: type as string,
        resolve: (e: E) => {
          settle();
          resolve(e as Found);
        },
        reject: (e: Error) => {
          settle();
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        settle();
        resolve(null);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

function forkTracked<E extends { type: string }>(
  file: string,
  name: string,
  execArgv: string[] = [],
): { child: ChildProcess; inbox: Inbox<E> } {
  const child = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  const inbox = new Inbox<E>();
  child.on('message', (m) => inbox.push(m as E));
  child.on('exit', (code, signal) => {
    children.delete(child);
    inbox.fail(new Error(`${name} exited (${signal ?? code})`));
  });
  return { child, inbox };
}

export interface ReceiverProc {
  pid: number;
  port: number;
  url(path: string): string;
  /** Counts from zero again; `marks` are distinct counts whose arrival time `mark()` reports. */
  reset(target: number, recordLatency?: boolean, marks?: number[]): void;
  /** When the next mark (in ascending order) was passed, or null on timeout. */
  mark(timeoutMs: number): Promise<number | null>;
  /** When the target was reached (wall-clock ms), or null on timeout. */
  reached(timeoutMs: number): Promise<number | null>;
  release(): Promise<{ at: number; held: number }>;
  stats(): Promise<ReceiverStats>;
  stop(): void;
}

export async function startReceiver(): Promise<ReceiverProc> {
  const { child, inbox } = forkTracked<ReceiverEvent>(moduleBeside('receiver.js'), 'receiver');
  const ready = await inbox.next('ready', 10_000);
  if (!ready) throw new Error('receiver did not start');
  const command = (c: ReceiverCommand) => child.send(c);
  const must = <T>(v: T | null, what: string): T => {
    if (v === null) throw new Error(`receiver: no answer to ${what}`);
    return v;
  };
  return {
    pid: child.pid!,
    port: ready.port,
    url: (path) => `http://127.0.0.1:${ready.port}${path}`,
    reset(target, recordLatency = false, marks = []) {
      inbox.drop('reached');
      inbox.drop('mark');
      command({ cmd: 'reset', target, recordLatency, marks });
    },
    async mark(timeoutMs) {
      return (await inbox.next('mark', timeoutMs))?.at ?? null;
    },
    async reached(timeoutMs) {
      return (await inbox.next('reached', timeoutMs))?.at ?? null;
    },
    async release() {
      command({ cmd: 'release' });
      return must(await inbox.next('released', 10_000), 'release');
    },
    async stats() {
      command({ cmd: 'stats' });
      return must(await inbox.next('stats', 10_000), 'stats').stats;
    },
    stop: () => child.kill('SIGKILL'),
  };
}

export interface LoadgenProc {
  pid: number;
  run<R extends LoadResult>(command: LoadCommand, timeoutMs: number): Promise<R>;
  stop(): void;
}

export async function startLoadgen(): Promise<LoadgenProc> {
  const { child, inbox } = forkTracked<LoadEvent>(moduleBeside('loadgen.js'), 'load generator');
  if (!(await inbox.next('ready', 10_000))) throw new Error('load generator did not start');
  return {
    pid: child.pid!,
    async run<R extends LoadResult>(command: LoadCommand, timeoutMs: number): Promise<R> {
      child.send(command);
      const answer = await inbox.next('done', timeoutMs);
      if (answer === null) {
        // A stuck generator is replaced rather than trusted: the caller sees the failure.
        child.kill('SIGKILL');
        throw new Error(`load generator: no result within ${timeoutMs} ms`);
      }
      if (answer.error !== undefined) throw new Error(`load generator: ${answer.error}`);
      return answer.result as R;
    },
    stop: () => child.kill('SIGKILL'),
  };
}

/** Where a Hookgate process keeps its data. */
export type StoreChoice =
  /** A fresh temporary SQLite file, with this `HOOKGATE_SQLITE_SYNCHRONOUS`. */
  | { kind: 'sqlite'; synchronous: 'FULL' | 'NORMAL' }
  /** A PostgreSQL database (`DATABASE_URL`), which several processes can share. */
  | { kind: 'postgres'; databaseUrl: string };

export interface HookgateOptions {
  main: string;
  store: StoreChoice;
  requestTimeoutSeconds: number;
  retrySchedule?: string;
  /** Write a V8 CPU profile of the Hookgate process into this directory (needs a graceful stop). */
  cpuProfileDir?: string;
}

/** Any Hookgate process, whatever its role. */
export interface HookgateNode {
  pid: number;
  /** Its Prometheus metrics (every node is started with HOOKGATE_METRICS_PORT=0). */
  metricsUrl: string;
  /** Current and peak resident set size of the Hookgate process, in MB (Linux /proc; else null). */
  memory(): { rssMb: number; peakRssMb: number } | null;
  /** Error lines Hookgate logged (its log level is `error`). */
  errorLines(): string[];
  /** SIGTERM and wait for the exit (graceful), or SIGKILL at once. Removes a SQLite database. */
  stop(graceful?: boolean): Promise<void>;
}

/** A Hookgate process that serves the API (role `all` or `api`). */
export interface HookgateProc extends HookgateNode {
  url: string;
  token: string;
}

/** Starts `hookgate serve` with role `all` (default; the only one SQLite allows) or `api`. */
export async function startHookgate(o: HookgateOptions & { role?: 'all' | 'api' }): Promise<HookgateProc> {
  const token = `hgsk_bench_${randomBytes(16).toString('hex')}`;
  const { node, ready } = await launch(o, o.role ?? 'all', token, /listening on (\S+)/);
  return { ...node, url: ready[1]!, token };
}

/** Starts `hookgate serve --role worker` on PostgreSQL: it delivers and serves no HTTP. */
export async function startWorker(o: HookgateOptions): Promise<HookgateNode> {
  if (o.store.kind !== 'postgres') throw new Error('a worker-role node needs the PostgreSQL store');
  return (await launch(o, 'worker', null, /Hookgate worker delivering/)).node;
}

/** Forks Hookgate and resolves once its output matches `readyLine` (its start-up line). */
async function launch(
  o: HookgateOptions,
  role: 'all' | 'api' | 'worker',
  token: string | null,
  readyLine: RegExp,
): Promise<{ node: HookgateNode; ready: RegExpExecArray }> {
  const dir = o.store.kind === 'sqlite' ? tempDir('hookgate-bench-') : null;
  const env: NodeJS.ProcessEnv = {};
  // Nothing from the caller's shell may change what is measured: no HOOKGATE_* setting, and no
  // DATABASE_URL (which would switch Hookgate to PostgreSQL).
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('HOOKGATE_') && k !== 'DATABASE_URL' && k !== 'NODE_OPTIONS') env[k] = v;
  }
  Object.assign(env, {
    ...(o.store.kind === 'sqlite'
      ? { HOOKGATE_DB: join(dir!, 'hookgate.db'), HOOKGATE_SQLITE_SYNCHRONOUS: o.store.synchronous }
      : { DATABASE_URL: o.store.databaseUrl }),
    HOOKGATE_ROLE: role,
    ...(token !== null ? { HOOKGATE_ADMIN_TOKEN: token } : {}),
    HOOKGATE_ALLOW_NETWORKS: '127.0.0.0/8',
    HOOKGATE_LOG_LEVEL: 'error',
    HOOKGATE_REQUEST_TIMEOUT: String(o.requestTimeoutSeconds),
    HOOKGATE_METRICS_PORT: '0',
    PORT: '0',
    HOST: '127.0.0.1',
    ...(o.retrySchedule !== undefined ? { HOOKGATE_RETRY_SCHEDULE: o.retrySchedule } : {}),
  });
  const execArgv = ['--import', moduleBeside('watchdog.js')];
  if (o.cpuProfileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}`);
  const child = fork(o.main, ['serve'], { env, execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  children.add(child);
  const errors: string[] = [];
  let output = '';
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hookgate (${role}) did not start: ${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      if (output.length < 100_000) output += text;
      const m = readyLine.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
      for (const line of text.split('\n')) {
        if (line.includes('"level":50') || line.includes('"level":60')) {
          if (errors.length < 50) errors.push(line.slice(0, 500));
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`hookgate (${role}) exited (${signal ?? code}): ${output}`));
    });
  });
  const pid = child.pid!;
  // Printed in the same write as the ready line.
  const metricsUrl = /Metrics on (\S+)/.exec(output)?.[1];
  if (!metricsUrl) throw new Error(`hookgate (${role}) printed no metrics URL: ${output}`);
  const node: HookgateNode = {
    pid,
    metricsUrl,
    memory() {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const kb = (field: string) =>
          Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
        return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
      } catch {
        return null;
      }
    },
    errorLines: () => errors,
    async stop(graceful = false) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill(graceful ? 'SIGTERM' : 'SIGKILL');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceful ? 30_000 : 5_000);
        await exited;
        clearTimeout(timer);
      }
      children.delete(child);
      if (dir !== null) removeTempDir(dir);
    },
  };
  return { node, ready };
}

/** The operator's side of the API: setup calls made by the runner itself. */
export function adminClient(hg: { url: string; token: string }) {
  const agent = new Agent({ connections: 8 });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${hg.token}` };
  async function call<T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<T> {
    const res = await request(`${hg.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher: agent,
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: HTTP ${res.statusCode} ${text}`);
    return JSON.parse(text) as T;
  }
  return {
    call,
    /** Creates `apps` applications, each with one endpoint per URL `urlOf(app, k)` for k < fanout. */
    async createApps(
      apps: number,
      fanout: number,
      urlOf: (app: number, k: number) => string,
    ): Promise<Array<{ id: string; endpoints: string[] }>> {
      const out: Array<{ id: string; endpoints: string[] }> = [];
      for (let a = 0; a < apps; a++) {
        const app = await call<{ id: string }>('POST', '/api/v1/app', { name: `bench-${a}` });
        const endpoints: string[] = [];
        for (let k = 0; k < fanout; k++) {
          const ep = await call<{ id: string }>('POST', `/api/v1/app/${app.id}/endpoint`, {
            url: urlOf(a, k),
          });
          endpoints.push(ep.id);
        }
        out.push({ id: app.id, endpoints });
      }
      return out;
    },
    close: () => agent.close(),
  };
}

export type AdminClient = ReturnType<typeof adminClient>;
