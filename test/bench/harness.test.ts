import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CpuFigures, type CpuPart, cpuMeasurable } from '../../bench/cpu.js';
import type { BenchFigures, DrainMeasure } from '../../bench/harness.js';
import type { BenchRecord } from '../../bench/report.js';
import type { Figure } from '../../bench/stats.js';
import type { StoreCycleResult } from '../../bench/store-cycle.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const OUT_DIR = join(ROOT, '.tmp', `bench-test-${process.pid}`);
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Runs a command to completion; rejects with its output on a non-zero exit. */
function run(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`exit ${code}:\n${out}`));
    });
  });
}

const positive = (f: Figure) => Number.isFinite(f.median) && f.median > 0 && f.runs.length > 0;

/** The drain's claims were read from Hookgate's metrics: every delivery came from one. */
function claimsRead(d: DrainMeasure): boolean {
  const c = d.claims;
  return c !== undefined && positive(c.meanMs) && positive(c.p99BoundMs) && positive(c.deliveriesPerClaim);
}

/** CPU per delivery was read for `parts` (each used some CPU) and for the machine as a whole. */
function measuredCpu(cpu: CpuFigures | undefined, parts: CpuPart[]): boolean {
  if (!cpuMeasurable) return cpu === undefined;
  return (
    cpu !== undefined &&
    parts.every((p) => positive(cpu.parts[p]!) && cpu.busiestThread[p]!.median > 0) &&
    // The machine's counters tick every 10 ms: a tiny run's window may hold none (NaN).
    !(cpu.machine.median < 0) &&
    !(cpu.busy.median < 0 || cpu.busy.median > 1)
  );
}

describe('bench harness', () => {
  afterAll(() => rmSync(OUT_DIR, { recursive: true, force: true }));

  it('runs every scenario, PostgreSQL included, at a tiny size and reports every figure (no speed is asserted)', async () => {
    expect(existsSync(join(ROOT, 'dist', 'cli', 'main.js'))).toBe(true);
    await run([TSC, '-p', 'bench/tsconfig.json', '--outDir', join(OUT_DIR, 'build')], 30_000);
    const json = join(OUT_DIR, 'tiny.json');
    const output = await run([join(OUT_DIR, 'build', 'run.js'), '--tiny', '--out', json], 110_000);
    expect(output).toContain('raw ceiling');

    const record = JSON.parse(readFileSync(json, 'utf8')) as BenchRecord;
    const { targets, meta } = record;
    const f = record.figures as BenchFigures;
    expect(meta.mode).toBe('tiny');
    expect(meta.machine.cores).toBeGreaterThan(0);
    expect(positive(f.rawCeiling)).toBe(true);
    expect(measuredCpu(f.rawCeilingCpu, ['receiver', 'loadgen'])).toBe(true);
    for (const d of [...f.drain, f.drainNormal]) {
      expect(d.backlog.median).toBeGreaterThan(0);
      expect(positive(d.rate) && positive(d.ratioToRaw) && positive(d.peakRssMb)).toBe(true);
      expect(measuredCpu(d.cpu, ['hookgate', 'receiver'])).toBe(true);
      expect(claimsRead(d)).toBe(true);
      expect(d.incompleteRuns).toBe(0);
    }
    expect(f.endToEnd.map((e) => e.fanout).sort()).toEqual([1, 1, 10]);
    for (const e of f.endToEnd) {
      expect(positive(e.messagesPerSecond) && positive(e.deliveriesPerSecond) && positive(e.ratioToRaw)).toBe(
        true,
      );
      expect(measuredCpu(e.cpu, ['hookgate', 'receiver', 'loadgen'])).toBe(true);
      expect(e.incompleteRuns).toBe(0);
    }
    expect(f.publishLatency.map((p) => p.offeredRate)).toEqual([500, 2000]);
    for (const p of f.publishLatency) expect(positive(p.p50Ms) && positive(p.p99Ms)).toBe(true);
    expect(positive(f.firstAttempt.p50Ms) && positive(f.firstAttempt.p99Ms)).toBe(true);
    expect(positive(f.failureMix.allHealthy) && positive(f.failureMix.mixed)).toBe(true);
    expect(positive(f.failureMix.ratio)).toBe(true);
    expect(targets.length).toBeGreaterThan(5);
    expect(record.notMeasured.join(' ')).not.toContain('Claim latency');

    const pg = f.postgres!;
    expect(pg.server.settings.fsync).toBe('on');
    expect(pg.server.settings.synchronous_commit).toBe('on');
    expect(pg.drain.map((d) => d.workers)).toEqual([1, 2]);
    for (const d of pg.drain) {
      expect(d.backlog.median).toBeGreaterThan(0);
      expect(positive(d.rate) && positive(d.ratioToRaw) && positive(d.peakRssMb)).toBe(true);
      expect(measuredCpu(d.cpu, ['hookgate', 'postgres', 'receiver'])).toBe(true);
      expect(claimsRead(d)).toBe(true);
      expect(d.incompleteRuns).toBe(0);
    }
    expect(pg.endToEnd.map((e) => e.workers)).toEqual([1, 2]);
    for (const e of [...pg.endToEnd, pg.singleNode]) {
      expect(positive(e.messagesPerSecond) && positive(e.ratioToRaw) && positive(e.peakRssMb)).toBe(true);
      expect(measuredCpu(e.cpu, ['hookgate', 'postgres', 'receiver', 'loadgen'])).toBe(true);
      expect(e.incompleteRuns).toBe(0);
    }
    expect(output).toContain('PostgreSQL started');
    if (cpuMeasurable) expect(output).toContain('µs of CPU per delivery');
  }, 150_000);

  it('measures the store cycle of a build: every delivery claimed and recorded (no speed is asserted)', async () => {
    const build = join(OUT_DIR, 'build');
    if (!existsSync(join(build, 'store-cycle.js'))) {
      await run([TSC, '-p', 'bench/tsconfig.json', '--outDir', build], 30_000);
    }
    const output = await run([join(build, 'store-cycle.js'), join(ROOT, 'dist'), '400', '40'], 30_000);
    const result = JSON.parse(output) as StoreCycleResult;
    expect(result.deliveries).toBe(400);
    expect(result.claimUs).toBeGreaterThan(0);
    expect(result.recordUs).toBeGreaterThan(0);
  }, 60_000);
});
