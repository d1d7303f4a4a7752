/**
 * CPU time of the processes a scenario runs, read from Linux's /proc around its measured window.
 * Every process here shares the machine's cores, so a throughput is bounded by the CPU one
 * delivery costs across all of them; this shows what that cost is and who pays it. Off Linux
 * (or without the scheduler's per-task statistics) nothing is measured and the figures are absent.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { type Figure, figure } from './stats.js';

/** Who uses the CPU in a scenario. */
export type CpuPart = 'hookgate' | 'postgres' | 'receiver' | 'loadgen';

/** A process to account; `withChildren`: its living children too (PostgreSQL's backends). */
export interface Tracked {
  part: CpuPart;
  pid: number;
  withChildren?: boolean;
}

/** µs of CPU per unit of work (a delivery; for the raw loop, a request). */
export interface CpuCost {
  /** Each part's processes, all their threads. */
  parts: Partial<Record<CpuPart, number>>;
  /**
   * The whole machine's busy time: the parts, the bench's own harness, anything else running,
   * and the kernel's work that no process is charged for (loopback TCP in softirq, much of it).
   */
  machine: number;
  /** The machine's busy share of all its cores over the window, 0–1. */
  busy: number;
  /**
   * The busiest thread of each part's processes: its share of one core over the window, 0–1.
   * Near 1, that thread (an event loop, Hookgate's sender thread) is what limits the rate,
   * however idle the cores are.
   */
  busiestThread: Partial<Record<CpuPart, number>>;
  /**
   * How many of each part's threads were, on average over the window, ready to run but waiting
   * for a core: above zero while the machine looks partly idle, the cores were contended in bursts.
   */
  waiting: Partial<Record<CpuPart, number>>;
}

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** ns a thread has run on a CPU, and waited runnable for one; zeros if it is gone. */
interface ThreadTimes {
  run: number;
  wait: number;
}

function threadTimes(pid: number, tid: string): ThreadTimes | null {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
    return { run: Number(run), wait: Number(wait) };
  } catch {
    return null; // it ended between the listing and the read
  }
}

/** Each thread of `pid`, by thread id; empty if it is gone. */
function threadsOf(pid: number): Map<string, ThreadTimes> {
  const times = new Map<string, ThreadTimes>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const t = threadTimes(pid, tid);
      if (t) times.set(tid, t);
    }
  } catch {
    // The process ended.
  }
  return times;
}

/** CPU time of the children `pid` has reaped (cutime + cstime of /proc/<pid>/stat), in ticks. */
function reapedTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command: state is field 3; cutime and cstime are fields 16 and 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[13]) + Number(fields[14]);
  } catch {
    return 0;
  }
}

function childrenOf(parents: ReadonlySet<number>): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (which may hold spaces): state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parents.has(ppid)) out.push(Number(entry));
    } catch {
      // The process ended.
    }
  }
  return out;
}

/** Busy and total time of all cores since boot, in clock ticks (the `cpu` line of /proc/stat). */
function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  // Steal is time the hypervisor gave this machine's cores to someone else: not work done here.
  const busy = user! + nice! + system! + irq! + softirq!;
  return { busy, total: busy + idle! + iowait! + steal! };
}

interface Snapshot {
  /** ns per process (children listed at this snapshot included), by part. */
  byPid: Map<number, { part: CpuPart; threads: Map<string, ThreadTimes> }>;
  /** Ticks of children reaped so far, by tracked parent (those tracked `withChildren`). */
  reaped: Map<number, number>;
  machine: { busy: number; total: number };
  /** performance.now(), ms. */
  at: number;
}

function snapshot(tracked: readonly Tracked[]): Snapshot {
  const byPid = new Map<number, { part: CpuPart; threads: Map<string, ThreadTimes> }>();
  const reaped = new Map<number, number>();
  for (const t of tracked) {
    const pids = t.withChildren ? [t.pid, ...childrenOf(new Set([t.pid]))] : [t.pid];
    for (const pid of pids) byPid.set(pid, { part: t.part, threads: threadsOf(pid) });
    if (t.withChildren) reaped.set(t.pid, reapedTicks(t.pid));
  }
  return { byPid, reaped, machine: machineTicks(), at: performance.now() };
}

/** Linux with per-thread scheduler statistics: where CPU time per delivery can be read. */
export const cpuMeasurable = (() => {
  try {
    readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8');
    readFileSync('/proc/stat', 'utf8');
    return true;
  } catch {
    return false;
  }
})();

/**
 * Starts measuring `tracked` now; the function returned ends the window and divides by the units
 * of work done in it. A child listed only at the end counts whole (it started in the window). A
 * child that exits during the window counts through its parent's reaped time, less what it had
 * used at the start: 10 ms ticks, not nanoseconds (PostgreSQL's pooled backends stay; autovacuum
 * workers come and go). A thread that ends during the window is lost: Hookgate's and Node's live
 * as long as their process.
 */
export function measureCpu(tracked: readonly Tracked[]): (units: number) => CpuCost | null {
  if (!cpuMeasurable) return () => null;
  const before = snapshot(tracked);
  return (units) => {
    const after = snapshot(tracked);
    if (!(units > 0)) return null;
    const parts: Partial<Record<CpuPart, number>> = {};
    const busiestThread: Partial<Record<CpuPart, number>> = {};
    const waiting: Partial<Record<CpuPart, number>> = {};
    const wallNs = (after.at - before.at) * 1e6;
    for (const [pid, { part, threads }] of after.byPid) {
      const was = before.byPid.get(pid)?.threads;
      for (const [tid, times] of threads) {
        const ran = times.run - (was?.get(tid)?.run ?? 0);
        parts[part] = (parts[part] ?? 0) + ran / 1000 / units;
        busiestThread[part] = Math.max(busiestThread[part] ?? 0, ran / wallNs);
        waiting[part] = (waiting[part] ?? 0) + (times.wait - (was?.get(tid)?.wait ?? 0)) / wallNs;
      }
    }
    for (const t of tracked) {
      if (!t.withChildren) continue;
      // Children gone since the start: their whole lives are in the reaped time now.
      let goneNs = 0;
      for (const [pid, { part, threads }] of before.byPid) {
        if (pid === t.pid || part !== t.part || after.byPid.has(pid)) continue;
        for (const times of threads.values()) goneNs += times.run;
      }
      const reapedNs =
        (((after.reaped.get(t.pid) ?? 0) - (before.reaped.get(t.pid) ?? 0)) / TICKS_PER_SECOND) * 1e9;
      parts[t.part] = (parts[t.part] ?? 0) + Math.max(0, reapedNs - goneNs) / 1000 / units;
    }
    const busy = after.machine.busy - before.machine.busy;
    const total = after.machine.total - before.machine.total;
    return {
      parts,
      machine: (busy / TICKS_PER_SECOND) * (1e6 / units),
      busy: total > 0 ? busy / total : Number.NaN,
      busiestThread,
      waiting,
    };
  };
}

/** CPU costs of repeated runs: each figure of CpuCost as the median and range of the runs. */
export type CpuFigures = {
  [K in keyof CpuCost]: CpuCost[K] extends number ? Figure : Partial<Record<CpuPart, Figure>>;
};

/** The runs' costs as figures; undefined when no run was measured. */
export function cpuFigures(runs: ReadonlyArray<CpuCost | null>): CpuFigures | undefined {
  const measured = runs.filter((r): r is CpuCost => r !== null);
  if (measured.length === 0) return undefined;
  const names = [...new Set(measured.flatMap((r) => Object.keys(r.parts) as CpuPart[]))];
  const byPart = (of: (r: CpuCost) => Partial<Record<CpuPart, number>>) =>
    Object.fromEntries(names.map((n) => [n, figure(measured.map((r) => of(r)[n] ?? 0))]));
  return {
    parts: byPart((r) => r.parts),
    machine: figure(measured.map((r) => r.machine)),
    busy: figure(measured.map((r) => r.busy)),
    busiestThread: byPart((r) => r.busiestThread),
    waiting: byPart((r) => r.waiting),
  };
}
