/**
 * Per-endpoint rate limits (the endpoint's `rateLimit`, messages per second) as token buckets
 * holding one second's worth. In-process: each dispatcher enforces the limit for the attempts it
 * makes, so N worker nodes together allow up to N times the rate.
 */
export interface RateLimiter {
  /**
   * Takes a token for an attempt now and returns 0, or, when the bucket is empty, returns how
   * many ms until the `queued`-th waiting attempt may go (nothing is taken then).
   */
  take(endpointId: string, ratePerSecond: number, queued: number): number;
  /** Endpoints whose bucket is empty right now: claims should leave their work for later. */
  exhausted(): string[];
}

interface Bucket {
  tokens: number;
  rate: number;
  at: number;
}

export function makeRateLimiter(now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, Bucket>();

  function refill(b: Bucket, t: number): void {
    b.tokens = Math.min(Math.max(b.rate, 1), b.tokens + ((t - b.at) * b.rate) / 1000);
    b.at = t;
  }

  return {
    take(endpointId, rate, queued) {
      const t = now();
      let b = buckets.get(endpointId);
      if (!b) {
        b = { tokens: Math.max(rate, 1), rate, at: t };
        buckets.set(endpointId, b);
      }
      b.rate = rate;
      refill(b, t);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.ceil(((queued + 1 - b.tokens) * 1000) / rate);
    },
    exhausted() {
      const t = now();
      const out: string[] = [];
      for (const [id, b] of buckets) {
        refill(b, t);
        // A full bucket carries no information: forget it, so the map holds only busy endpoints.
        if (b.tokens >= Math.max(b.rate, 1)) buckets.delete(id);
        else if (b.tokens < 1) out.push(id);
      }
      return out;
    },
  };
}
