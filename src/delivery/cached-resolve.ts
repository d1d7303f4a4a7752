import type { LookupAddress } from 'node:dns';

/** An address as a resolver answers it; `ttl` (seconds) when the resolver knows it. */
export type ResolvedAddress = LookupAddress & { ttl?: number };

/** A DNS resolution: every address of a name, or a rejection (ENOTFOUND, …). */
export type Resolve = (hostname: string) => Promise<ResolvedAddress[]>;

/** The same, for one caller who may give up waiting. */
export type CachedResolve = (hostname: string, signal?: AbortSignal) => Promise<LookupAddress[]>;

/** Time, injectable so tests run without sleeping. */
export interface Timers {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_TIMERS: Timers = {
  now: Date.now,
  setTimeout: (run, ms) => setTimeout(run, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface CachedResolveOptions {
  /** Asked on a cache miss. */
  resolve: Resolve;
  /** Resolutions that may hold a slot at once. Default 2. */
  concurrency?: number;
  /**
   * Resolutions that may still be running, those past their timeout included (a getaddrinfo
   * cannot be cancelled: it keeps its libuv thread until the system resolver gives up). Default 3,
   * of the pool's 4 threads: one is always left for the WAL flush and file I/O.
   */
  maxRunning?: number;
  /** How long a caller waits (queued or resolving) and a resolution holds its slot, in ms. Default 5,000. */
  timeoutMs?: number;
  /** How long an answer without a TTL is reused, in ms. Default 30,000. */
  defaultTtlMs?: number;
  /** Any TTL is held within these bounds, in ms. Default 1,000 to 60,000. */
  minTtlMs?: number;
  maxTtlMs?: number;
  /** Names remembered; past this the cache starts over. Default 10,000. */
  maxEntries?: number;
  timers?: Timers;
}

interface Waiter {
  resolve(records: LookupAddress[]): void;
  reject(error: Error): void;
  timer: unknown;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** One resolution of one name, shared by every caller asking for that name meanwhile. */
interface Call {
  hostname: string;
  waiters: Set<Waiter>;
  state: 'queued' | 'running';
  /** Whether it still counts against `concurrency` (it stops at its timeout). */
  holdsSlot: boolean;
  slotTimer: unknown;
}

function timeoutError(hostname: string, ms: number): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`DNS lookup of ${hostname} timed out after ${ms} ms`);
  error.code = 'ETIMEOUT';
  return error;
}

function abortError(hostname: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`DNS lookup of ${hostname} aborted`);
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  return error;
}

/**
 * DNS resolution for delivery: answers are cached per name within TTL bounds, callers asking for
 * one name together share one resolution, at most `concurrency` resolutions hold a slot (the rest
 * queue in order), and no caller waits longer than `timeoutMs`: one slow name can neither stall
 * the names behind it nor a connection for longer than its timeout. Only addresses are cached;
 * the SSRF verdict is made again by the caller on every use (see makeGuardedLookup). Failures are
 * not cached.
 */
export function makeCachedResolve(options: CachedResolveOptions): CachedResolve {
  const {
    resolve,
    concurrency = 2,
    maxRunning = 3,
    timeoutMs = 5_000,
    defaultTtlMs = 30_000,
    minTtlMs = 1_000,
    maxTtlMs = 60_000,
    maxEntries = 10_000,
    timers = REAL_TIMERS,
  } = options;
  const cache = new Map<string, { records: LookupAddress[]; expiresAt: number }>();
  const calls = new Map<string, Call>();
  const queue: Call[] = [];
  let holdingSlots = 0;
  let running = 0;

  function cached(hostname: string): LookupAddress[] | null {
    const entry = cache.get(hostname);
    if (!entry) return null;
    if (timers.now() < entry.expiresAt) return entry.records;
    cache.delete(hostname);
    return null;
  }

  function remember(hostname: string, records: ResolvedAddress[]): LookupAddress[] {
    const ttls = records.map((r) => r.ttl).filter((t): t is number => t !== undefined);
    const ttlMs = ttls.length ? Math.min(...ttls) * 1000 : defaultTtlMs;
    const plain = records.map(({ address, family }) => ({ address, family }));
    if (cache.size >= maxEntries) cache.clear();
    cache.set(hostname, {
      records: plain,
      expiresAt: timers.now() + Math.min(maxTtlMs, Math.max(minTtlMs, ttlMs)),
    });
    return plain;
  }

  function pump(): void {
    while (queue.length > 0 && holdingSlots < concurrency && running < maxRunning) start(queue.shift()!);
  }

  function releaseSlot(call: Call): void {
    if (!call.holdsSlot) return;
    call.holdsSlot = false;
    holdingSlots--;
    timers.clearTimeout(call.slotTimer);
    pump();
  }

  function start(call: Call): void {
    call.state = 'running';
    call.holdsSlot = true;
    holdingSlots++;
    running++;
    // Past its timeout a resolution gives its slot to the next name, but keeps counting as
    // running (its thread is still taken) until the resolver answers.
    call.slotTimer = timers.setTimeout(() => releaseSlot(call), timeoutMs);
    // A resolver that throws instead of rejecting must not leave the call running forever.
    new Promise<ResolvedAddress[]>((ok) => ok(resolve(call.hostname))).then(
      (records) => finish(call, null, remember(call.hostname, records)),
      (error: unknown) => finish(call, error instanceof Error ? error : new Error(String(error)), []),
    );
  }

  function finish(call: Call, error: Error | null, records: LookupAddress[]): void {
    running--;
    calls.delete(call.hostname);
    for (const waiter of call.waiters) {
      settle(waiter);
      if (error) waiter.reject(error);
      else waiter.resolve(records);
    }
    call.waiters.clear();
    releaseSlot(call);
    pump();
  }

  function settle(waiter: Waiter): void {
    timers.clearTimeout(waiter.timer);
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  /** A caller gives up: it leaves its call, and a queued call nobody waits for leaves the queue. */
  function leave(call: Call, waiter: Waiter, error: Error): void {
    if (!call.waiters.delete(waiter)) return;
    settle(waiter);
    waiter.reject(error);
    if (call.state === 'queued' && call.waiters.size === 0) {
      queue.splice(queue.indexOf(call), 1);
      calls.delete(call.hostname);
    }
  }

  return function cachedResolve(hostname, signal) {
    const hit = cached(hostname);
    if (hit) return Promise.resolve(hit);
    if (signal?.aborted) return Promise.reject(abortError(hostname));
    let call = calls.get(hostname);
    const fresh = !call;
    if (!call) {
      call = { hostname, waiters: new Set(), state: 'queued', holdsSlot: false, slotTimer: undefined };
      calls.set(hostname, call);
    }
    const joined = call;
    const answer = new Promise<LookupAddress[]>((resolved, rejected) => {
      const waiter: Waiter = {
        resolve: resolved,
        reject: rejected,
        signal,
        timer: timers.setTimeout(() => leave(joined, waiter, timeoutError(hostname, timeoutMs)), timeoutMs),
        onAbort: () => leave(joined, waiter, abortError(hostname)),
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      joined.waiters.add(waiter);
    });
    if (fresh) {
      queue.push(joined);
      pump();
    }
    return answer;
  };
}
