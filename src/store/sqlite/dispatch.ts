import { afterFailure, type DisabledReason, dueVerdict } from '../../domain/health.js';
import type { EndpointSecret } from '../../domain/model.js';
import { bodyFromColumns } from '../bytes.js';
import { attemptInsertValues, deliveryHeaders, type StreakRow, toStreak } from '../rows.js';
import {
  CLOSE_CIRCUIT,
  COUNT_FAILURE,
  DEFER_DELIVERY,
  DEFER_ENDPOINT_DELIVERIES,
  DISABLE_ENDPOINT,
  FAIL_PENDING_DELIVERIES,
  INSERT_ATTEMPT,
  OPEN_CIRCUIT,
  RELEASE_HELD,
  RESET_HEALTH,
  SETTLE_DELIVERY,
  STATUS_AFTER,
} from '../sql.js';
import type { ClaimedDelivery, DisabledEndpoint, Store } from '../store.js';
import type { SqliteContext } from './database.js';

type DispatchStore = Pick<Store, 'claimDue' | 'recordOutcomes' | 'deferDeliveries' | 'nextWakeAt'>;

interface DueRow {
  id: string;
  app_id: string;
  msg_id: string;
  endpoint_id: string;
  attempts: number;
  manual: number;
  payload: string;
  payload_bytes: Uint8Array | null;
  content_type: string | null;
  msg_headers: string | null;
}

interface ClaimEndpointRow {
  url: string;
  secrets: string;
  headers: string;
  disabled: number;
  rate_limit: number | null;
  circuit_open_until: number;
}

/** What a claim needs of an endpoint, read and parsed once per claim however many rows it has. */
interface ClaimEndpoint extends Omit<ClaimEndpointRow, 'secrets'> {
  /** Keys of the secrets not yet expired at the claim. */
  secrets: string[];
}

/**
 * Most queries of one claim. Each round after the first passes over at least one more endpoint
 * that cannot take work, and held-back endpoints leave the due range for the next claim: work
 * behind them is reached within a claim or two, whatever the backlog in front.
 */
const MAX_CLAIM_ROUNDS = 16;

/** Claims, outcomes and deferrals are redone if a power cut loses them: they wait for no disk flush. */
const RELAXED = { durable: false };
/** A claim still waits for the publishes it leased to be on disk (see CommitOptions). */
const CLAIM = { durable: false, afterDurable: true };

export function makeDispatch({ prepare, commit }: SqliteContext): DispatchStore {
  return {
    claimDue: (req) =>
      commit(() => {
        const inFlight = new Map(req.inFlightByEndpoint);
        // Endpoints whose deliveries this claim passes over: those at their concurrency cap, and
        // those found unable to take any (held back, or at the cap) as the claim goes.
        const skipped = new Set([...inFlight].filter(([, n]) => n >= req.perEndpointLimit).map(([id]) => id));
        // Walks the partial index deliveries_due in due order, skipping those endpoints, so a slow
        // or broken endpoint cannot fill a claim that healthy work behind it could use.
        const due = prepare(
          `SELECT d.id, d.app_id, d.msg_id, d.endpoint_id, d.attempts, d.manual, m.payload, m.payload_bytes,
                  m.content_type, m.headers AS msg_headers
           FROM deliveries d
           JOIN messages m ON m.id = d.msg_id
           WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.locked_until <= ?
             AND d.endpoint_id NOT IN (SELECT value FROM json_each(?))
           ORDER BY d.next_attempt_at
           LIMIT ?`,
        );
        // A claim's rows share a few endpoints: each is read and its secrets parsed once, not per
        // row (joined per row, the endpoint's columns and their parsing were a third of a claim).
        const endpointRow = prepare(
          'SELECT url, secrets, headers, disabled, rate_limit, circuit_open_until FROM endpoints WHERE id = ?',
        );
        const endpoints = new Map<string, ClaimEndpoint | null>();
        const endpointOf = (id: string): ClaimEndpoint | null => {
          let e = endpoints.get(id);
          if (e === undefined) {
            const row = endpointRow.get(id) as ClaimEndpointRow | undefined;
            e = row
              ? {
                  ...row,
                  secrets: (JSON.parse(row.secrets) as EndpointSecret[])
                    .filter((s) => s.expiresAt === null || s.expiresAt > req.now)
                    .map((s) => s.key),
                }
              : null;
            endpoints.set(id, e);
          }
          return e;
        };
        // The lease also moves next_attempt_at to its end: leased rows leave the due range of the
        // index, so claims never wade through work in flight, and a dead holder's rows fall due
        // again exactly when its lease runs out.
        const lease = prepare(
          'UPDATE deliveries SET next_attempt_at = ?, locked_until = ?, locked_by = ? WHERE id = ?',
        );
        const close = prepare(
          'UPDATE deliveries SET status = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?',
        );
        const hold = prepare(DEFER_ENDPOINT_DELIVERIES);
        const claimed: ClaimedDelivery[] = [];
        // Each round that comes back short of its limit because of passed-over endpoints runs again
        // without them; each round adds at least one endpoint to pass over, so rounds are few.
        for (let round = 0; round < MAX_CLAIM_ROUNDS && claimed.length < req.limit; round++) {
          const want = req.limit - claimed.length;
          const rows = due.all(req.now, req.now, JSON.stringify([...skipped]), want) as DueRow[];
          let passedOver = false;
          for (const row of rows) {
            if (skipped.has(row.endpoint_id)) {
              passedOver = true;
              continue;
            }
            const e = endpointOf(row.endpoint_id);
            // A deleted endpoint's work is cancelled; a disabled one's fails without an attempt,
            // visible in its stats and recoverable once it is enabled again.
            if (e === null) {
              close.run('cancelled', req.now, row.id);
              continue;
            }
            if (e.disabled === 1) {
              close.run('failed', req.now, row.id);
              continue;
            }
            const load = inFlight.get(row.endpoint_id) ?? 0;
            const verdict = dueVerdict(
              e.circuit_open_until,
              load,
              req.perEndpointLimit,
              req.now,
              req.leaseUntil,
            );
            if (verdict.kind !== 'claim') {
              // Held back: all the endpoint's due deliveries leave the due range at once, without using
              // attempts (one statement, however many there are); those due later are held when they
              // fall due, so rows already held are not rewritten by every claim. At its cap: passed over.
              if (verdict.kind === 'hold') hold.run(verdict.until, row.endpoint_id, req.now, req.now + 1);
              skipped.add(row.endpoint_id);
              passedOver = true;
              continue;
            }
            inFlight.set(row.endpoint_id, load + 1);
            lease.run(req.leaseUntil, req.leaseUntil, req.leaseId, row.id);
            claimed.push({
              deliveryId: row.id,
              appId: row.app_id,
              msgId: row.msg_id,
              endpointId: row.endpoint_id,
              attemptsMade: row.attempts,
              trigger: row.manual === 1 ? 'manual' : 'scheduled',
              url: e.url,
              payload: bodyFromColumns(row.payload, row.payload_bytes),
              contentType: row.content_type ?? 'application/json',
              headers: deliveryHeaders(row.msg_headers, e.headers),
              secrets: e.secrets,
              rateLimit: e.rate_limit,
            });
          }
          if (!passedOver || rows.length < want) break;
        }
        return claimed;
      }, CLAIM),

    recordOutcomes: (outcomes, health) =>
      commit(() => {
        const settle = prepare(SETTLE_DELIVERY);
        const exists = prepare('SELECT 1 FROM deliveries WHERE id = ?').pluck();
        const insertAttempt = prepare(INSERT_ATTEMPT);
        const disabled: DisabledEndpoint[] = [];
        /** Endpoints whose health this batch has reset, with no failure recorded since. */
        const reset = new Set<string>();
        const disable = (appId: string, endpointId: string, reason: DisabledReason, now: number) => {
          if (prepare(DISABLE_ENDPOINT).run(reason, now, endpointId).changes === 0) return;
          prepare(FAIL_PENDING_DELIVERIES).run(now, endpointId, now);
          disabled.push({ appId, endpointId, reason });
        };
        for (const { leaseId, deliveryId, attempt: a, next } of outcomes) {
          const nextAt = next.kind === 'retry' ? next.at : null;
          const settled = settle.run(
            STATUS_AFTER[next.kind],
            a.createdAt,
            nextAt,
            a.createdAt,
            deliveryId,
            leaseId,
          ).changes;
          // An attempt that happened is recorded even if its lease was lost meanwhile; one whose
          // delivery is gone (the app was deleted) has nothing left to belong to.
          if (settled === 0 && !exists.get(deliveryId)) continue;
          insertAttempt.run(...attemptInsertValues(a));
          // Endpoint health follows every answer, whichever lease it came under.
          if (a.succeeded) {
            // Once reset, an endpoint stays reset until a failure: later successes write nothing.
            // A reset closes the circuit: what it held back is due now.
            if (!reset.has(a.endpointId) && prepare(RESET_HEALTH).run(a.endpointId).changes > 0)
              prepare(RELEASE_HELD).run(a.createdAt, a.endpointId);
            reset.add(a.endpointId);
            if (next.kind === 'succeeded_and_disable_endpoint')
              disable(a.appId, a.endpointId, 'receiver_requested', a.createdAt);
            continue;
          }
          reset.delete(a.endpointId);
          if (next.kind === 'failed_and_disable_endpoint') {
            disable(
              a.appId,
              a.endpointId,
              a.responseStatusCode === 410 ? 'gone' : 'receiver_requested',
              a.createdAt,
            );
          } else {
            const streak = prepare(COUNT_FAILURE).get(a.createdAt, a.endpointId) as StreakRow | undefined;
            if (!streak) continue; // deleted or already disabled
            const verdict = afterFailure(toStreak(streak), a.createdAt, health);
            if (verdict.kind === 'disable') disable(a.appId, a.endpointId, 'failing', a.createdAt);
            if (verdict.kind === 'open') {
              prepare(OPEN_CIRCUIT).run(verdict.until, verdict.periodMs, a.endpointId);
              prepare(DEFER_ENDPOINT_DELIVERIES).run(verdict.until, a.endpointId, a.createdAt, verdict.until);
            }
            if (verdict.kind === 'close') {
              prepare(CLOSE_CIRCUIT).run(a.endpointId);
              prepare(RELEASE_HELD).run(a.createdAt, a.endpointId);
            }
          }
        }
        return disabled;
      }, RELAXED),

    deferDeliveries: (deferrals) =>
      commit(() => {
        const defer = prepare(DEFER_DELIVERY);
        for (const d of deferrals) defer.run(d.until, d.deliveryId, d.leaseId);
      }, RELAXED),

    nextWakeAt: async () => {
      // Includes leases: a lease's end is when its delivery may fall due again.
      const at = prepare(
        `SELECT next_attempt_at FROM deliveries WHERE status = 'pending' ORDER BY next_attempt_at LIMIT 1`,
      )
        .pluck()
        .get() as number | undefined;
      return at ?? null;
    },
  };
}
