/**
 * DNS resolution for delivery, with an injected resolver and clock: nothing here asks real DNS
 * or sleeps.
 */
import { describe, expect, it } from 'vitest';
import {
  type CachedResolveOptions,
  makeCachedResolve,
  type ResolvedAddress,
  type Timers,
} from '../../src/delivery/cached-resolve.js';
import { makeGuardedLookup, RefusedAddressError } from '../../src/delivery/guarded-lookup.js';
import { parseCidrList } from '../../src/domain/ssrf.js';

/** A clock that moves only when the test says so. */
function manualTimers() {
  let now = 1_000_000;
  let nextId = 0;
  const pending = new Map<number, { at: number; run: () => void }>();
  const timers: Timers = {
    now: () => now,
    setTimeout: (run, ms) => {
      pending.set(++nextId, { at: now + ms, run });
      return nextId;
    },
    clearTimeout: (handle) => {
      pending.delete(handle as number);
    },
  };
  return {
    timers,
    /** Moves time on by `ms`, running the timers that fall due in order. */
    async advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const due = [...pending.entries()]
          .filter(([, t]) => t.at <= until)
          .sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        pending.delete(due[0]);
        now = due[1].at;
        due[1].run();
        await settled();
      }
      now = until;
      await settled();
    },
  };
}

/** Lets promise callbacks run. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

/** A resolver the test answers by hand; `calls` lists the names it was asked, in order. */
function handResolver() {
  const calls: string[] = [];
  const answers = new Map<string, Array<(r: ResolvedAddress[] | Error) => void>>();
  const resolve = (hostname: string) =>
    new Promise<ResolvedAddress[]>((ok, fail) => {
      calls.push(hostname);
      const list = answers.get(hostname) ?? [];
      list.push((r) => (r instanceof Error ? fail(r) : ok(r)));
      answers.set(hostname, list);
    });
  return {
    resolve,
    calls,
    /** Answers the oldest unanswered call for `hostname`. */
    answer(hostname: string, result: ResolvedAddress[] | Error) {
      const next = answers.get(hostname)?.shift();
      if (!next) throw new Error(`no call for ${hostname} to answer`);
      next(result);
    },
  };
}

const PUBLIC = [{ address: '8.8.8.8', family: 4 }];
const TIMEOUT = 5_000;

function setup(extra: Partial<CachedResolveOptions> = {}) {
  const clock = manualTimers();
  const resolver = handResolver();
  const lookup = makeCachedResolve({
    resolve: resolver.resolve,
    timeoutMs: TIMEOUT,
    timers: clock.timers,
    ...extra,
  });
  return { clock, resolver, lookup };
}

/** A promise's outcome so far: its value, its error's code, or 'pending'. */
function track<T>(promise: Promise<T>) {
  const state: { value?: T; error?: NodeJS.ErrnoException; done: boolean } = { done: false };
  promise.then(
    (value) => Object.assign(state, { value, done: true }),
    (error: NodeJS.ErrnoException) => Object.assign(state, { error, done: true }),
  );
  return state;
}

describe('makeCachedResolve', () => {
  it('makes one resolver call for concurrent lookups of one name', async () => {
    const { resolver, lookup } = setup();
    const results = Promise.all([lookup('a.test'), lookup('a.test'), lookup('a.test')]);
    await settled();
    expect(resolver.calls).toEqual(['a.test']);
    resolver.answer('a.test', PUBLIC);
    expect(await results).toEqual([PUBLIC, PUBLIC, PUBLIC]);
  });

  it('answers from the cache within the TTL and asks again after it', async () => {
    const { clock, resolver, lookup } = setup({ defaultTtlMs: 30_000 });
    const first = lookup('a.test');
    await settled();
    resolver.answer('a.test', PUBLIC);
    expect(await first).toEqual(PUBLIC);

    await clock.advance(29_999);
    expect(await lookup('a.test')).toEqual(PUBLIC);
    expect(resolver.calls).toEqual(['a.test']);

    await clock.advance(1);
    const again = lookup('a.test');
    await settled();
    expect(resolver.calls).toEqual(['a.test', 'a.test']);
    resolver.answer('a.test', [{ address: '1.1.1.1', family: 4 }]);
    expect(await again).toEqual([{ address: '1.1.1.1', family: 4 }]);
  });

  it.each([
    [5, 5_000],
    [0, 1_000], // held for at least a second
    [86_400, 60_000], // and at most a minute
  ])('respects a TTL of %i s within bounds (%i ms)', async (ttl, heldMs) => {
    const { clock, resolver, lookup } = setup();
    const first = lookup('a.test');
    await settled();
    resolver.answer('a.test', [{ address: '8.8.8.8', family: 4, ttl }]);
    // The TTL is the cache's business: callers get plain addresses.
    expect(await first).toEqual(PUBLIC);
    await clock.advance(heldMs - 1);
    await lookup('a.test');
    expect(resolver.calls).toHaveLength(1);
    await clock.advance(1);
    void lookup('a.test').catch(() => {});
    await settled();
    expect(resolver.calls).toHaveLength(2);
  });

  it('does not cache failures', async () => {
    const { resolver, lookup } = setup();
    const first = track(lookup('gone.test'));
    await settled();
    resolver.answer('gone.test', Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }));
    await settled();
    expect(first.error?.code).toBe('ENOTFOUND');
    void lookup('gone.test').catch(() => {});
    await settled();
    expect(resolver.calls).toEqual(['gone.test', 'gone.test']);
  });

  it("does not let a hanging name block another name's lookup", async () => {
    const { resolver, lookup } = setup();
    const hanging = track(lookup('hang.test'));
    // However many callers wait for the hanging name, it takes one slot.
    for (let i = 0; i < 5; i++) void lookup('hang.test').catch(() => {});
    const other = lookup('b.test');
    await settled();
    expect(resolver.calls).toEqual(['hang.test', 'b.test']);
    resolver.answer('b.test', PUBLIC);
    expect(await other).toEqual(PUBLIC);
    expect(hanging.done).toBe(false);
  });

  it('times out a lookup and frees its slot for the names queued behind it', async () => {
    const { clock, resolver, lookup } = setup({ concurrency: 2 });
    const hung = [track(lookup('hang1.test')), track(lookup('hang2.test'))];
    await clock.advance(TIMEOUT / 2);
    const queued = track(lookup('b.test'));
    await settled();
    expect(resolver.calls).toEqual(['hang1.test', 'hang2.test']);

    await clock.advance(TIMEOUT / 2);
    expect(hung.map((h) => h.error?.code)).toEqual(['ETIMEOUT', 'ETIMEOUT']);
    expect(hung[0]!.error?.message).toContain('hang1.test');
    // The queued name started when the slots came free, with a wait of its own.
    expect(resolver.calls).toEqual(['hang1.test', 'hang2.test', 'b.test']);
    resolver.answer('b.test', PUBLIC);
    await settled();
    expect(queued.value).toEqual(PUBLIC);
  });

  it('keeps a libuv thread free: timed-out resolutions still running count until they answer', async () => {
    const { clock, resolver, lookup } = setup({ concurrency: 2, maxRunning: 3 });
    for (const name of ['h1.test', 'h2.test']) void lookup(name).catch(() => {});
    await clock.advance(TIMEOUT);
    void lookup('h3.test').catch(() => {});
    const waiting = track(lookup('b.test'));
    await settled();
    // h1 and h2 gave up their slots but their threads are still taken: only one more may start.
    expect(resolver.calls).toEqual(['h1.test', 'h2.test', 'h3.test']);
    resolver.answer('h1.test', PUBLIC);
    await settled();
    expect(resolver.calls).toEqual(['h1.test', 'h2.test', 'h3.test', 'b.test']);
    expect(waiting.done).toBe(false);
  });

  it('lets a new caller of a name whose resolution timed out join it rather than start another', async () => {
    const { clock, resolver, lookup } = setup();
    void lookup('hang.test').catch(() => {});
    await clock.advance(TIMEOUT);
    const late = lookup('hang.test');
    await settled();
    expect(resolver.calls).toEqual(['hang.test']);
    resolver.answer('hang.test', PUBLIC);
    expect(await late).toEqual(PUBLIC);
  });

  it('takes an aborted waiter out of the queue, and its name is never resolved', async () => {
    const { clock, resolver, lookup } = setup({ concurrency: 1 });
    void lookup('hang.test').catch(() => {});
    await clock.advance(TIMEOUT / 2);
    const controller = new AbortController();
    const aborted = track(lookup('gave-up.test', controller.signal));
    const behind = track(lookup('c.test'));
    await settled();
    controller.abort();
    await settled();
    expect(aborted.error?.name).toBe('AbortError');

    await clock.advance(TIMEOUT / 2);
    expect(resolver.calls).toEqual(['hang.test', 'c.test']);
    resolver.answer('c.test', PUBLIC);
    await settled();
    expect(behind.value).toEqual(PUBLIC);
  });

  it('takes a waiter whose time ran out in the queue out of it', async () => {
    const { clock, resolver, lookup } = setup({ concurrency: 1 });
    void lookup('hang.test').catch(() => {});
    await clock.advance(TIMEOUT / 2);
    const queued = track(lookup('late.test'));
    await clock.advance(TIMEOUT / 2);
    // hang.test's slot is free now and late.test starts, with half its time left.
    expect(resolver.calls).toEqual(['hang.test', 'late.test']);
    await clock.advance(TIMEOUT / 2);
    expect(queued.error?.code).toBe('ETIMEOUT');
    const queuedAndGone = track(lookup('never.test', AbortSignal.abort()));
    await settled();
    expect(queuedAndGone.error?.name).toBe('AbortError');
    expect(resolver.calls).not.toContain('never.test');
  });

  it('starts queued names in order, failures included', async () => {
    const { resolver, lookup } = setup({ concurrency: 2 });
    const results = ['a', 'b', 'c', 'd'].map((h) =>
      lookup(h).then(
        (r) => r[0]!.address,
        (e: Error) => e.message,
      ),
    );
    await settled();
    expect(resolver.calls).toEqual(['a', 'b']);
    resolver.answer('b', new Error('b failed'));
    await settled();
    expect(resolver.calls).toEqual(['a', 'b', 'c']);
    resolver.answer('a', [{ address: '8.8.8.8', family: 4 }]);
    await settled();
    expect(resolver.calls).toEqual(['a', 'b', 'c', 'd']);
    resolver.answer('c', [{ address: '8.8.4.4', family: 4 }]);
    resolver.answer('d', [{ address: '1.1.1.1', family: 4 }]);
    expect(await Promise.all(results)).toEqual(['8.8.8.8', 'b failed', '8.8.4.4', '1.1.1.1']);
  });
});

describe('makeGuardedLookup over a cache', () => {
  it('judges cached addresses again on every use', async () => {
    const { resolver, lookup } = setup();
    const outcome = (allowed: string) =>
      new Promise<NodeJS.ErrnoException | null>((done) =>
        makeGuardedLookup(parseCidrList(allowed), lookup)('loop.test', {}, (err) => done(err)),
      );
    const first = outcome('127.0.0.0/8');
    await settled();
    resolver.answer('loop.test', [{ address: '127.0.0.1', family: 4 }]);
    expect(await first).toBeNull();
    // Same cached answer, no allow list: refused, and the resolver was not asked again.
    expect(await outcome('')).toBeInstanceOf(RefusedAddressError);
    expect(resolver.calls).toEqual(['loop.test']);
  });
});
