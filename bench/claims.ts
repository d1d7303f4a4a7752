/**
 * Claim latency from Hookgate's own metrics (`hookgate_claim_duration_seconds`, a histogram, and
 * `hookgate_claimed_deliveries_total`), read from every delivering node before and after a
 * measured window: how long the dispatcher waited for each claim of due deliveries, waiting
 * behind other writes included.
 */

/** The claim counters of one or more nodes, added up. */
export interface ClaimCounters {
  claims: number;
  seconds: number;
  deliveries: number;
  /** Cumulative count of claims at or under each bucket bound (seconds; Infinity for +Inf). */
  buckets: Map<number, number>;
}

/** Claims made in a window. */
export interface ClaimLatency {
  claims: number;
  meanMs: number;
  /** The histogram's bound under which 99% of the claims fell (an upper bound of the p99). */
  p99BoundMs: number;
  deliveriesPerClaim: number;
}

function parse(text: string, into: ClaimCounters): void {
  for (const line of text.split('\n')) {
    if (!line.startsWith('hookgate_claim')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    const bucket = /^hookgate_claim_duration_seconds_bucket\{le="([^"]+)"\}/.exec(line);
    if (bucket) {
      const le = bucket[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(bucket[1]);
      into.buckets.set(le, (into.buckets.get(le) ?? 0) + value);
    } else if (line.startsWith('hookgate_claim_duration_seconds_count ')) into.claims += value;
    else if (line.startsWith('hookgate_claim_duration_seconds_sum ')) into.seconds += value;
    else if (line.startsWith('hookgate_claimed_deliveries_total ')) into.deliveries += value;
  }
}

export async function readClaims(metricsUrls: readonly string[]): Promise<ClaimCounters> {
  const total: ClaimCounters = { claims: 0, seconds: 0, deliveries: 0, buckets: new Map() };
  for (const url of metricsUrls) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    parse(await res.text(), total);
  }
  return total;
}

/** What was claimed between two readings; null if nothing was. */
export function claimsBetween(before: ClaimCounters, after: ClaimCounters): ClaimLatency | null {
  const claims = after.claims - before.claims;
  if (claims <= 0) return null;
  const bounds = [...after.buckets.keys()].sort((a, b) => a - b);
  const p99 = bounds.find(
    (le) => (after.buckets.get(le) ?? 0) - (before.buckets.get(le) ?? 0) >= 0.99 * claims,
  );
  return {
    claims,
    meanMs: ((after.seconds - before.seconds) / claims) * 1000,
    p99BoundMs: (p99 ?? Number.POSITIVE_INFINITY) * 1000,
    deliveriesPerClaim: (after.deliveries - before.deliveries) / claims,
  };
}
