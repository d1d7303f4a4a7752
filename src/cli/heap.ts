import v8 from 'node:v8';

/**
 * How far V8 grows a heap past what survived its last full collection, in percent. The flag
 * replaces V8's own growing factor, which varies (lower near the heap limit or under memory
 * pressure) and here reached 300%: a drain allocates about 10 KB per delivery on the event loop
 * and more on the sender thread, short-lived, but some of it outlives two scavenges, so the old
 * generation filled with garbage up to that limit before each full collection. Measured on
 * 100k-message drains (BENCHMARKS.md), at the same drain rate: peak RSS 238–285 MB with V8's
 * factor, 233–236 MB at 100%, 219–223 MB at 50%; but at 50% the publish tail at 2,000 msg/s
 * grew (p99 above 5.5 ms in 10 of 13 runs, against 2 of 6 at 100%).
 */
export const HEAP_GROWING_PERCENT = 100;

/** The V8 flag to set, or null when the operator already chose one in node's own options. */
export function heapGrowthFlag(execArgv: readonly string[], nodeOptions: string | undefined): string | null {
  const chosen = [...execArgv, nodeOptions ?? ''].some((arg) => /heap[-_]growing[-_]percent/.test(arg));
  return chosen ? null : `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/**
 * Sets the heap growing factor for the whole process: V8 flags are per process, so the sender
 * thread's heap follows the same rule. Set before the server starts; it applies from the next
 * collection on.
 */
export function limitHeapGrowth(): void {
  const flag = heapGrowthFlag(process.execArgv, process.env.NODE_OPTIONS);
  if (flag !== null) v8.setFlagsFromString(flag);
}
