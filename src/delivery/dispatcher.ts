import { randomUUID } from 'node:crypto';
import { coerceError } from '../domain/errors.js';
import { DEFAULT_HEALTH_POLICY, type DisabledReason, type HealthPolicy } from '../domain/health.js';
import { isStorageFault } from '../store/health.js';
import type { AttemptOutcome, ClaimedDelivery, Deferral, DisabledEndpoint, Store } from '../store/store.js';
import { type AttemptMade, attemptFrom, makeAttempt } from './attempt.js';
import { makeRateLimiter } from './rate-limiter.js';
import { noAnswer, type Sender } from './sender.js';

export interface DispatcherOptions {
  store: Store;
  sender: Sender;
  /** Delays in seconds between attempts after the first (Svix semantics). */
  retrySchedule: readonly number[];
  /** Per-attempt timeout in ms; a lease lasts this plus `leaseMarginMs`. */
  requestTimeoutMs: number;
  /** Extra lease time past the request timeout, for recording the outcome. Default 5 s. */
  leaseMarginMs?: number;
  /** Attempts in flight at once, all endpoints together. Default 256. */
  maxInFlight?: number;
  /** Attempts in flight at once to one endpoint, so a slow endpoint cannot take every slot. Default 16. */
  perEndpointLimit?: number;
  /** Longest sleep when nothing is due, in ms: how soon an expired foreign lease is noticed. Default 1000. */
  idlePollMs?: number;
  /** Called with errors of the loop itself (never with receiver failures, which are attempts). */
  onError?: (error: Error) => void;
  /**
   * Called for each attempt once its outcome is recorded (operational events). It must return at
   * once: delivery never awaits it, except `stop`, which waits for returned promises within its
   * deadline. A throw or a rejection goes to `onError`. Default: none.
   */
  onAttempt?: (recorded: AttemptRecorded) => Promise<void> | undefined;
  /** Circuit breaker and automatic disabling. Default DEFAULT_HEALTH_POLICY. */
  health?: HealthPolicy;
  /** Told how claims, attempts and recording go (metrics). Default: none. */
  observer?: DeliveryObserver;
  workerId?: string;
}

/** What the delivery loop reports as it runs, for metrics; every call must return at once. */
export interface DeliveryObserver {
  /** A claim leased `count` deliveries after `ms` (waiting behind other writes included). */
  claimed(ms: number, count: number): void;
  /** An attempt ended after `ms`: answered with a success, or not (a failure status, no answer). */
  attempted(ms: number, succeeded: boolean): void;
  /** A batch of outcomes was written after `ms`, or failed to be (`written` false). */
  recorded(ms: number, written: boolean): void;
}

/** An attempt whose outcome has been recorded, as `onAttempt` sees it. */
export interface AttemptRecorded extends AttemptMade {
  /** Why recording this attempt disabled its endpoint, if it did. */
  endpointDisabled: DisabledReason | null;
}

type QueuedOutcome = AttemptOutcome &
  Pick<AttemptRecorded, 'attemptNumber' | 'control'> & {
    /** The delivery as claimed: what a charged attempt is made from if this one cannot be recorded. */
    claimed: ClaimedDelivery;
  };

/** Outcomes recorded, and the endpoints recording them disabled. */
interface Recorded {
  ok: QueuedOutcome[];
  disabled: DisabledEndpoint[];
}

export interface Dispatcher {
  /** New work may be due now (called after a publish commits). */
  wake(): void;
  /** Attempts in flight now. */
  inFlight(): number;
  /** Stops claiming, waits up to `deadlineMs` for in-flight attempts, records them. */
  stop(deadlineMs?: number): Promise<void>;
}

/** Most deliveries leased in one claim: one transaction serves them all. */
const CLAIM_BATCH = 200;

/**
 * How long answers are gathered before they are recorded and their slots refilled. Measured on
 * the drain benchmark: refilling each slot as it frees made claims of one or two rows, each a
 * query and a transaction of its own.
 */
const COALESCE_MS = 1;

/**
 * A send the sender lost (its thread died before answering) is tried again after at least this
 * long, without using an attempt: the receiver's part in it is unknown.
 */
const LOST_RETRY_MS = 1000;
/**
 * Up to this much more, at random: the sends a dying thread held are not all claimed together
 * again, so those beside one that kills the thread are not lost with it every time.
 */
const LOST_RETRY_JITTER_MS = 2000;
/**
 * The loss of a delivery's send that counts as a failed attempt after all, so a delivery whose
 * send kills the thread every time still runs out its retries instead of looping forever.
 */
const LOSSES_CHARGED_FROM = 3;
/**
 * Longest wait between claims while they keep failing (the database is away), in ms: delivery
 * resumes at most this long after it returns, or at once when something wakes the loop.
 */
const MAX_BACKOFF_MS = 5000;
/** Deliveries remembered with lost sends; past this the memory starts over. */
const LOSS_MEMORY = 10_000;
/**
 * The failure to record a delivery's outcome (a write the store refuses even alone) that is
 * charged as a failed attempt, recorded without what could not be stored: as with lost sends,
 * a delivery whose outcome can never be recorded runs out its retries instead of being sent
 * again forever. Earlier failures send it again, its attempts untouched.
 */
const RECORD_FAILURES_CHARGED_FROM = 3;

/**
 * The delivery loop: claim due deliveries under a lease, attempt them concurrently, record each
 * outcome and reschedule. Outcomes finishing within COALESCE_MS are written in one batch.
 */
export function startDispatcher(options: DispatcherOptions): Dispatcher {
  const { store, sender } = options;
  const workerId = options.workerId ?? randomUUID();
  const maxInFlight = options.maxInFlight ?? 256;
  const perEndpointLimit = options.perEndpointLimit ?? 16;
  const idlePollMs = options.idlePollMs ?? 1000;
  const leaseMs = options.requestTimeoutMs + (options.leaseMarginMs ?? 5000);
  const onError = options.onError ?? (() => {});
  const onAttempt = options.onAttempt;
  const observer = options.observer;

  const inFlightByEndpoint = new Map<string, number>();
  const rateLimiter = makeRateLimiter();
  const health = options.health ?? DEFAULT_HEALTH_POLICY;
  const running = new Set<Promise<void>>();
  /** The lease of each attempt in flight, to hand back at shutdown. */
  const leases = new Set<{ leaseId: string; deliveryId: string }>();
  let outcomes: QueuedOutcome[] = [];
  /** Lost sends so far of each delivery whose last send was lost. */
  const losses = new Map<string, number>();
  /** Failures so far to record an outcome of each delivery whose last outcome could not be recorded. */
  const recordFailures = new Map<string, number>();
  const hooks = new Set<Promise<void>>();
  let flushing: Promise<void> = Promise.resolve();
  let stopped = false;
  let claims = 0;
  let closed = false;
  let wakeUp: (() => void) | null = null;
  let woken = false;
  let coalescing: NodeJS.Timeout | null = null;

  function wake(): void {
    woken = true;
    wakeUp?.();
  }

  function sleep(ms: number): Promise<void> {
    if (woken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      }
      wakeUp = done;
    });
  }

  /** Tells the observer; whatever it does, delivery goes on. */
  function observe(tell: (o: DeliveryObserver) => void): void {
    if (!observer) return;
    try {
      tell(observer);
    } catch (e) {
      onError(coerceError(e));
    }
  }

  async function attempt(d: ClaimedDelivery, leaseId: string): Promise<void> {
    const made = await makeAttempt(sender, options.retrySchedule, d);
    if (!('lost' in made)) {
      observe((o) => o.attempted(made.attempt.durationMs, made.attempt.succeeded));
      if (losses.size > 0) losses.delete(d.deliveryId);
      queueOutcome({ leaseId, deliveryId: d.deliveryId, claimed: d, ...made });
      return;
    }
    const lost = (losses.get(d.deliveryId) ?? 0) + 1;
    if (lost >= LOSSES_CHARGED_FROM) {
      losses.delete(d.deliveryId);
      const charged = attemptFrom(options.retrySchedule, d, Date.now(), noAnswer(made.lost));
      observe((o) => o.attempted(charged.attempt.durationMs, false));
      queueOutcome({ leaseId, deliveryId: d.deliveryId, claimed: d, ...charged });
      return;
    }
    if (losses.size >= LOSS_MEMORY) losses.clear();
    losses.set(d.deliveryId, lost);
    // Past the shutdown deadline nothing more is written: the lease brings the delivery back.
    if (closed) return;
    // Due again shortly, its attempts untouched; if this write fails, the lease's end brings it back.
    // (The sends a thread held are answered in one turn: their deferrals share one commit.)
    await retryShortly(leaseId, d.deliveryId);
  }

  /** Gives a leased delivery back without an attempt, due again after LOST_RETRY_MS and some jitter. */
  function retryShortly(leaseId: string, deliveryId: string): Promise<void> {
    const until = Date.now() + LOST_RETRY_MS + Math.floor(Math.random() * LOST_RETRY_JITTER_MS);
    return store.deferDeliveries([{ leaseId, deliveryId, until }]);
  }

  function queueOutcome(outcome: QueuedOutcome): void {
    // Past the shutdown deadline nothing more is written: the lease brings the delivery back.
    if (closed) return;
    outcomes.push(outcome);
  }

  /**
   * An attempt finished. Rather than one small transaction per answer, the answers of the next
   * COALESCE_MS are recorded together and their freed slots refilled by one claim, in the same
   * event-loop turn and therefore the same group commit.
   */
  function completed(): void {
    if (coalescing) return;
    coalescing = setTimeout(() => {
      coalescing = null;
      flushing = flushing.then(flush);
      wake();
    }, COALESCE_MS);
  }

  async function flush(): Promise<void> {
    const batch = outcomes;
    outcomes = [];
    if (batch.length === 0) return;
    const whole = await recordAll(batch);
    let recorded: Recorded;
    if (typeof whole !== 'string') recorded = whole;
    else {
      // One outcome the store refuses (bad data) must not cost the others theirs: each is
      // recorded alone, the writes sharing one group commit with each isolated, so only a bad
      // one fails. (The lone outcome of a batch of one has already been tried alone.)
      const alone = batch.length === 1 ? [whole] : await Promise.all(batch.map((o) => recordAll([o])));
      recorded = { ok: [], disabled: [] };
      for (const [i, result] of alone.entries()) {
        const o = batch[i]!;
        if (typeof result !== 'string') {
          recorded.ok.push(o);
          recorded.disabled.push(...result.disabled);
        } else if (result === 'refused') unrecorded(o);
        // The store failing as a whole (database away, disk full) is no fault of the outcome:
        // nothing is charged; the delivery is sent again once the store is back (claims wait for it).
        else if (!closed) retryShortly(o.leaseId, o.deliveryId).catch(() => {});
      }
    }
    if (recordFailures.size > 0) for (const o of recorded.ok) recordFailures.delete(o.deliveryId);
    // A retry due sooner than the loop's current sleep must not wait for it.
    if (recorded.ok.some((o) => o.next.kind === 'retry')) wake();
    if (!onAttempt) return;
    // Each disabling is told once, with the first attempt of its endpoint in the batch.
    const reasons = new Map(recorded.disabled.map((d) => [d.endpointId, d.reason]));
    for (const outcome of recorded.ok) {
      const endpointDisabled = reasons.get(outcome.attempt.endpointId) ?? null;
      reasons.delete(outcome.attempt.endpointId);
      notify(onAttempt, { ...outcome, endpointDisabled });
    }
  }

  /**
   * Records the outcomes in one write. If it fails (the error told): 'storage_fault' when the
   * store as a whole failed (isStorageFault), else 'refused'.
   */
  async function recordAll(batch: QueuedOutcome[]): Promise<Recorded | 'refused' | 'storage_fault'> {
    const started = performance.now();
    try {
      const disabled = await store.recordOutcomes(
        batch.map(({ attemptNumber: _, control: __, claimed: ___, ...outcome }) => outcome),
        health,
      );
      const ms = performance.now() - started;
      observe((o) => o.recorded(ms, true));
      return { ok: batch, disabled };
    } catch (e) {
      const ms = performance.now() - started;
      observe((o) => o.recorded(ms, false));
      onError(coerceError(e));
      return isStorageFault(e) ? 'storage_fault' : 'refused';
    }
  }

  /**
   * An outcome the store would not record even alone. Its lease stays, so it is never lost: the
   * delivery is sent again shortly, its attempts untouched, and from the
   * RECORD_FAILURES_CHARGED_FROM-th failure on it is charged an attempt as the receiver answered
   * it (its status decides what becomes of the delivery: a 2xx is a success, not a failure to
   * send again), with why in place of the response body, the only foreign content of an outcome.
   */
  function unrecorded(o: QueuedOutcome): void {
    const failures = (recordFailures.get(o.deliveryId) ?? 0) + 1;
    if (failures >= RECORD_FAILURES_CHARGED_FROM) {
      recordFailures.delete(o.deliveryId);
      const status = o.attempt.responseStatusCode;
      const reason = `(the response of this attempt could not be recorded, ${failures} times: the answer was HTTP ${status})`;
      const answer = { ...noAnswer(reason, o.attempt.durationMs), statusCode: status };
      const charged = attemptFrom(options.retrySchedule, o.claimed, o.attempt.createdAt, answer);
      queueOutcome({ leaseId: o.leaseId, deliveryId: o.deliveryId, claimed: o.claimed, ...charged });
      completed();
      return;
    }
    if (recordFailures.size >= LOSS_MEMORY) recordFailures.clear();
    recordFailures.set(o.deliveryId, failures);
    if (closed) return;
    // If this write fails too, the lease's end brings the delivery back.
    retryShortly(o.leaseId, o.deliveryId).catch((e) => onError(coerceError(e)));
  }

  /** Hands a recorded attempt to the hook; whatever it does, delivery goes on. */
  function notify(
    hook: NonNullable<DispatcherOptions['onAttempt']>,
    o: QueuedOutcome & Pick<AttemptRecorded, 'endpointDisabled'>,
  ): void {
    try {
      const pending = hook({
        attempt: o.attempt,
        attemptNumber: o.attemptNumber,
        next: o.next,
        control: o.control,
        endpointDisabled: o.endpointDisabled,
      });
      if (!pending) return;
      const tracked: Promise<void> = pending
        .catch((e: unknown) => onError(coerceError(e)))
        .finally(() => hooks.delete(tracked));
      hooks.add(tracked);
    } catch (e) {
      onError(coerceError(e));
    }
  }

  function launch(d: ClaimedDelivery, leaseId: string): void {
    inFlightByEndpoint.set(d.endpointId, (inFlightByEndpoint.get(d.endpointId) ?? 0) + 1);
    const lease = { leaseId, deliveryId: d.deliveryId };
    leases.add(lease);
    const task = attempt(d, leaseId)
      .catch((e) => onError(coerceError(e)))
      .finally(() => {
        const left = (inFlightByEndpoint.get(d.endpointId) ?? 1) - 1;
        if (left === 0) inFlightByEndpoint.delete(d.endpointId);
        else inFlightByEndpoint.set(d.endpointId, left);
        running.delete(task);
        leases.delete(lease);
        completed();
      });
    running.add(task);
  }

  async function claimOnce(): Promise<number> {
    const free = maxInFlight - running.size;
    if (free <= 0) return 0;
    // Nothing is sent while the store cannot take writes (its database away, its disk full): the
    // answers could not be recorded, and each delivery would be sent again and again meanwhile.
    // The store probes by itself; the idle poll notices its return.
    if (store.health().state !== 'ok') return 0;
    const now = Date.now();
    const leaseId = `${workerId}:${++claims}`;
    // Endpoints out of rate-limit tokens count as full, so their work stays in the database.
    const load = new Map(inFlightByEndpoint);
    for (const id of rateLimiter.exhausted()) load.set(id, perEndpointLimit);
    const started = performance.now();
    const claimed = await store.claimDue({
      leaseId,
      now,
      leaseUntil: now + leaseMs,
      limit: Math.min(free, CLAIM_BATCH),
      inFlightByEndpoint: load,
      perEndpointLimit,
    });
    const ms = performance.now() - started;
    observe((o) => o.claimed(ms, claimed.length));
    const deferrals: Deferral[] = [];
    const waiting = new Map<string, number>();
    for (const d of claimed) {
      const wait = d.rateLimit
        ? rateLimiter.take(d.endpointId, d.rateLimit, waiting.get(d.endpointId) ?? 0)
        : 0;
      if (wait === 0) {
        launch(d, leaseId);
        continue;
      }
      // Over the endpoint's rate: back to the database, due when a token will be there.
      waiting.set(d.endpointId, (waiting.get(d.endpointId) ?? 0) + 1);
      deferrals.push({ leaseId, deliveryId: d.deliveryId, until: now + wait });
    }
    if (deferrals.length > 0) await store.deferDeliveries(deferrals);
    return claimed.length - deferrals.length;
  }

  async function loop(): Promise<void> {
    /** Claims failed in a row: the database is away; each failure waits longer, up to a bound. */
    let failures = 0;
    while (!stopped) {
      woken = false;
      try {
        const claimed = await claimOnce();
        failures = 0;
        if (claimed > 0) continue;
        const next = await store.nextWakeAt();
        const wait = next === null ? idlePollMs : Math.min(Math.max(next - Date.now(), 0), idlePollMs);
        // Due now yet nothing claimable (every slot or its endpoint's slots taken): a freed slot wakes us.
        await sleep(wait === 0 ? idlePollMs : wait);
      } catch (e) {
        failures++;
        // Logged the first time, then as the wait grows: an outage is a few lines, not one a poll.
        if (failures <= 2 || backoff(failures) < backoff(failures + 1)) onError(coerceError(e));
        // A wake (LISTEN re-established, a publish committed) cuts the wait short.
        await sleep(backoff(failures));
      }
    }
  }

  /** The wait after `failures` failed claims in a row: doubling from idlePollMs up to MAX_BACKOFF_MS. */
  function backoff(failures: number): number {
    return Math.min(idlePollMs * 2 ** (failures - 1), Math.max(idlePollMs, MAX_BACKOFF_MS));
  }

  const looping = loop();

  return {
    wake,
    inFlight: () => running.size,
    async stop(deadlineMs = 10_000) {
      const deadline = Date.now() + deadlineMs;
      stopped = true;
      wake();
      await looping;
      await settleWithin([...running], deadline);
      // From here on a finishing attempt writes nothing; what is already queued is written now.
      closed = true;
      if (coalescing) clearTimeout(coalescing);
      await flushing;
      await flush();
      // Attempts still unfinished are handed back, due at once, so whoever runs next (a
      // restart, another node) retries them without waiting for their leases to run out.
      const unfinished = [...leases].map((l) => ({ ...l, until: Date.now() }));
      if (unfinished.length > 0)
        await store.deferDeliveries(unfinished).catch((e) => onError(coerceError(e)));
      // Hooks get what is left of the deadline; one still running after it is abandoned.
      await settleWithin([...hooks], deadline);
    },
  };
}

/** Waits until every promise settles or the deadline (epoch ms) passes, whichever comes first. */
async function settleWithin(promises: Promise<unknown>[], deadline: number): Promise<void> {
  if (promises.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(promises),
    new Promise((r) => {
      timer = setTimeout(r, Math.max(0, deadline - Date.now()));
    }),
  ]);
  clearTimeout(timer);
}
