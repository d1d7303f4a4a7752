/** Summary statistics of repeated runs and of latency samples. */

export interface Figure {
  median: number;
  min: number;
  max: number;
  /** Every run's value, in the order measured. */
  runs: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function figure(runs: readonly number[]): Figure {
  const finite = runs.filter(Number.isFinite);
  return {
    median: median(finite),
    min: finite.length ? Math.min(...finite) : Number.NaN,
    max: finite.length ? Math.max(...finite) : Number.NaN,
    runs: [...runs],
  };
}

/** Nearest-rank percentile (p in 0–100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Each run divided by `by` (e.g. throughputs as a fraction of the raw ceiling). */
export function ratio(f: Figure, by: number): Figure {
  return figure(f.runs.map((v) => v / by));
}

/** Run i of `a` divided by run i of `b`: paired runs, such as mixed vs all-healthy. */
export function pairedRatio(a: Figure, b: Figure): Figure {
  return figure(a.runs.map((v, i) => v / (b.runs[i] ?? Number.NaN)));
}
