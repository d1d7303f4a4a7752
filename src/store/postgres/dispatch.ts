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
  HELD_BY_CIRCUIT,
  OPEN_CIRCUIT,
  RELEASE_HELD,
  RESET_HEALTH,
  STATUS_AFTER,
} from '../sql.js';
import type { AttemptOutcome, ClaimedDelivery, DisabledEndpoint, Store } from '../store.js';
import { columnsOf, type PgContext, prepared, type Tx } from './database.js';

type DispatchStore = Pick<Store, 'claimDue' | 'recordOutcomes' | 'deferDeliveries' | 'nextWakeAt'>;

interface CandidateRow {
  id: string;
  endpoint_id: string;
  circuit_open_until: number | null;
}

interface ClaimedRow {
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
  e_id: string | null;
  url: string | null;
  secrets: string | null;
  headers: string | null;
  disabled: number | null;
  rate_limit: number | null;
}

/**
 * Due deliveries in due order, walking the partial index `deliveries_due`. Parameters: now, now,
 * endpoints at their concurrency cap, limit. Exported for the plan test.
 */
export const CLAIM_CANDIDATES = `SELECT d.id, d.endpoint_id, e.circuit_open_until FROM deliveries d
  LEFT JOIN endpoints e ON e.id = d.endpoint_id
  WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.locked_until <= ? AND NOT (d.endpoint_id = ANY(?))
  ORDER BY d.next_attempt_at
  LIMIT ?
  FOR UPDATE OF d SKIP LOCKED`;

/**
 * Most candidate queries of one claim. Each round after the first passes over at least one more
 * endpoint that cannot take work, and held-back endpoints leave the due range for the next claim:
 * work behind them is reached within a claim or two, whatever the backlog in front.
 */
const MAX_CLAIM_ROUNDS = 16;

/** The statements of every claim and outcome, prepared (see Prepared). */
const CANDIDATES = prepared(CLAIM_CANDIDATES);
/**
 * DEFER_ENDPOINT_DELIVERIES for a claim, made safe beside other transactions:
 * - rows another claim has locked are skipped rather than waited for (that claim holds them back
 *   itself), so two nodes holding back one endpoint's rows at once cannot deadlock;
 * - it holds only while the endpoint's circuit is still as the claim read it, under a share lock
 *   on the endpoint's row until commit. An edit or an outcome closing the circuit meanwhile
 *   either commits first (nothing is held) or waits for this claim, and then its RELEASE_HELD
 *   sees the rows held here: never held behind a closed circuit. An endpoint row being written
 *   right now is skipped (nothing held, the claim passes over it) rather than waited for, so the
 *   claim, holding delivery rows, never waits on a writer that may wait on them.
 * Parameters: until, endpoint id, now, the bound below which next_attempt_at is held (the claim
 * passes now + 1: the due rows), endpoint id, circuit_open_until as the claim read it.
 */
const HOLD = prepared(`UPDATE deliveries SET next_attempt_at = ?, locked_by = '${HELD_BY_CIRCUIT}'
  WHERE id IN (SELECT id FROM deliveries WHERE endpoint_id = ? AND status = 'pending' AND locked_until <= ?
    AND next_attempt_at < ? FOR UPDATE SKIP LOCKED)
  AND EXISTS (SELECT 1 FROM endpoints WHERE id = ? AND circuit_open_until = ? FOR SHARE SKIP LOCKED)`);
const RELEASE = prepared(RELEASE_HELD);
/**
 * Leases the chosen rows and reads them with their messages and endpoints, in one round trip.
 * Each message and endpoint is read by its key in a LATERAL subquery that OFFSET 0 keeps from
 * being flattened into a join: planned as a join while the tables were small, the kept plan read
 * them whole (see the plan test on small tables). Parameters: lease end, lease end, lease id,
 * delivery ids.
 */
const LEASE_AND_READ = prepared(`WITH d AS (
    UPDATE deliveries SET next_attempt_at = ?, locked_until = ?, locked_by = ? WHERE id = ANY(?)
    RETURNING id, app_id, msg_id, endpoint_id, attempts, manual, created_at)
  SELECT d.id, d.app_id, d.msg_id, d.endpoint_id, d.attempts, d.manual, m.payload, m.payload_bytes,
         m.content_type, m.headers AS msg_headers, e.id AS e_id, e.url, e.secrets, e.headers, e.disabled,
         e.rate_limit
  FROM d
  CROSS JOIN LATERAL (SELECT payload, payload_bytes, content_type, headers FROM messages
    WHERE id = d.msg_id OFFSET 0) m
  LEFT JOIN LATERAL (SELECT id, url, secrets, headers, disabled, rate_limit FROM endpoints
    WHERE id = d.endpoint_id OFFSET 0) e ON true
  ORDER BY d.created_at`);
/**
 * SETTLE_DELIVERY for a batch of outcomes in one statement, as INSERT_ATTEMPTS below is
 * INSERT_ATTEMPT's: a round trip per outcome for each made claiming and recording through the
 * store alone about half as fast (7,100–7,900 against 13,000–13,900 deliveries a second, claims
 * of 40). Parameters: arrays of delivery id, lease id, status, next attempt time, now; then
 * the delivery ids again and 'pending'. Both are there for the plan PostgreSQL may keep for all
 * parameters (see the plan test on small tables): the ids give it a bounded index condition, and
 * a status it does not know cannot lead it to read the whole partial index of pending rows.
 * Returns the ids settled.
 */
const SETTLE_ALL = prepared(`UPDATE deliveries d
  SET status = CASE WHEN d.requeued = 1 THEN 'pending' ELSE o.status END,
      attempts = CASE WHEN d.requeued = 1 THEN 0 ELSE d.attempts + 1 END,
      next_attempt_at = CASE WHEN d.requeued = 1 THEN o.at ELSE o.next_at END,
      manual = d.requeued, requeued = 0, locked_until = 0, locked_by = NULL, updated_at = o.at
  FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[]) AS o (id, lease_id, status, next_at, at)
  WHERE d.id = ANY(?::text[]) AND d.id = o.id AND d.locked_by = o.lease_id AND d.status = ?
  RETURNING d.id`);
/** Held until commit, so an app deletion running meanwhile waits and then sees the attempts. */
const STILL_THERE = prepared('SELECT id FROM deliveries WHERE id = ANY(?) FOR KEY SHARE');
/** INSERT_ATTEMPT for a batch: its parameters (attemptInsertValues), each an array. */
const INSERT_ATTEMPTS =
  prepared(`INSERT INTO attempts (id, app_id, msg_id, endpoint_id, url, status_code, response,
    response_bytes, duration_ms, succeeded, manual, created_at)
  SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::integer[], ?::text[],
    ?::bytea[], ?::integer[], ?::integer[], ?::integer[], ?::bigint[])`);
const HEALTHY = prepared(RESET_HEALTH);
const FAILURE = prepared(COUNT_FAILURE);
const DEFER = prepared(DEFER_DELIVERY);
const NEXT_DUE = prepared(
  `SELECT next_attempt_at AS at FROM deliveries WHERE status = 'pending' ORDER BY next_attempt_at LIMIT 1`,
);

export function makeDispatch({ rows, commit, transaction }: PgContext): DispatchStore {
  return {
    claimDue: (req) =>
      transaction(async (tx) => {
        const inFlight = new Map(req.inFlightByEndpoint);
        // Endpoints whose deliveries this claim passes over: those at their concurrency cap, and
        // those found unable to take any (held back, or at the cap) as the claim goes.
        const skipped = new Set([...inFlight].filter(([, n]) => n >= req.perEndpointLimit).map(([id]) => id));
        const chosen: string[] = [];
        // Each round that comes back short of its limit because of passed-over endpoints runs again
        // without them; each round adds at least one endpoint to pass over, so rounds are few.
        for (let round = 0; round < MAX_CLAIM_ROUNDS && chosen.length < req.limit; round++) {
          const want = req.limit - chosen.length;
          // SKIP LOCKED: nodes claiming at once each take different rows instead of queueing on
          // each other's row locks. Leased rows carry next_attempt_at = lease end, so they are
          // outside the due range of the index until the lease runs out.
          const candidates = await tx.rows<CandidateRow>(CANDIDATES, [req.now, req.now, [...skipped], want]);
          let passedOver = false;
          for (const c of candidates) {
            if (skipped.has(c.endpoint_id)) {
              passedOver = true;
              continue;
            }
            const load = inFlight.get(c.endpoint_id) ?? 0;
            const verdict = dueVerdict(
              c.circuit_open_until ?? 0,
              load,
              req.perEndpointLimit,
              req.now,
              req.leaseUntil,
            );
            if (verdict.kind !== 'claim') {
              // Held back: all the endpoint's due deliveries leave the due range at once, without using
              // attempts (one statement, however many there are); those due later are held when they
              // fall due, so rows already held are not rewritten by every claim. At its cap: passed over.
              if (verdict.kind === 'hold')
                await tx.run(HOLD, [
                  verdict.until,
                  c.endpoint_id,
                  req.now,
                  req.now + 1,
                  c.endpoint_id,
                  c.circuit_open_until ?? 0,
                ]);
              skipped.add(c.endpoint_id);
              passedOver = true;
              continue;
            }
            inFlight.set(c.endpoint_id, load + 1);
            chosen.push(c.id);
          }
          if (!passedOver || candidates.length < want) break;
        }
        if (chosen.length === 0) return [];
        const claimedRows = await tx.rows<ClaimedRow>(LEASE_AND_READ, [
          req.leaseUntil,
          req.leaseUntil,
          req.leaseId,
          chosen,
        ]);
        const claimed: ClaimedDelivery[] = [];
        for (const row of claimedRows) {
          // A deleted endpoint's work is cancelled; a disabled one's fails without an attempt.
          if (row.e_id === null || row.disabled === 1) {
            await tx.run(
              `UPDATE deliveries SET status = ?, next_attempt_at = NULL, locked_until = 0, locked_by = NULL,
                 updated_at = ? WHERE id = ?`,
              [row.e_id === null ? 'cancelled' : 'failed', req.now, row.id],
            );
            continue;
          }
          claimed.push({
            deliveryId: row.id,
            appId: row.app_id,
            msgId: row.msg_id,
            endpointId: row.endpoint_id,
            attemptsMade: row.attempts,
            trigger: row.manual === 1 ? 'manual' : 'scheduled',
            url: row.url!,
            payload: bodyFromColumns(row.payload, row.payload_bytes),
            contentType: row.content_type ?? 'application/json',
            headers: deliveryHeaders(row.msg_headers, row.headers!),
            secrets: (JSON.parse(row.secrets!) as EndpointSecret[])
              .filter((s) => s.expiresAt === null || s.expiresAt > req.now)
              .map((s) => s.key),
            rateLimit: row.rate_limit,
          });
        }
        return claimed;
      }),

    recordOutcomes: (outcomes, health) =>
      commit(async (tx) => {
        const disabled: DisabledEndpoint[] = [];
        /** Endpoints whose health this batch has reset, with no failure recorded since. */
        const reset = new Set<string>();
        const disable = async (appId: string, endpointId: string, reason: DisabledReason, now: number) => {
          if ((await tx.run(DISABLE_ENDPOINT, [reason, now, endpointId])) === 0) return;
          await tx.run(FAIL_PENDING_DELIVERIES, [now, endpointId, now]);
          disabled.push({ appId, endpointId, reason });
        };
        // Settled in runs that end at each failure: a failure's effects (failing or deferring the
        // endpoint's waiting deliveries) then find the later deliveries of the batch still leased,
        // as recording the outcomes one by one does.
        for (const run of runsEndingAtFailures(outcomes)) {
          for (const { attempt: a, next } of await settleAndInsert(tx, run)) {
            // Endpoint health follows every answer, whichever lease it came under.
            if (a.succeeded) {
              // Once reset, an endpoint stays reset until a failure: later successes write nothing.
              // A reset closes the circuit: what it held back is due now.
              if (!reset.has(a.endpointId) && (await tx.run(HEALTHY, [a.endpointId])) > 0)
                await tx.run(RELEASE, [a.createdAt, a.endpointId]);
              reset.add(a.endpointId);
              if (next.kind === 'succeeded_and_disable_endpoint')
                await disable(a.appId, a.endpointId, 'receiver_requested', a.createdAt);
              continue;
            }
            reset.delete(a.endpointId);
            if (next.kind === 'failed_and_disable_endpoint') {
              await disable(
                a.appId,
                a.endpointId,
                a.responseStatusCode === 410 ? 'gone' : 'receiver_requested',
                a.createdAt,
              );
            } else {
              const [streak] = await tx.rows<StreakRow>(FAILURE, [a.createdAt, a.endpointId]);
              if (!streak) continue; // deleted or already disabled
              const verdict = afterFailure(toStreak(streak), a.createdAt, health);
              if (verdict.kind === 'disable') await disable(a.appId, a.endpointId, 'failing', a.createdAt);
              if (verdict.kind === 'open') {
                await tx.run(OPEN_CIRCUIT, [verdict.until, verdict.periodMs, a.endpointId]);
                await tx.run(DEFER_ENDPOINT_DELIVERIES, [
                  verdict.until,
                  a.endpointId,
                  a.createdAt,
                  verdict.until,
                ]);
              }
              if (verdict.kind === 'close') {
                await tx.run(CLOSE_CIRCUIT, [a.endpointId]);
                await tx.run(RELEASE, [a.createdAt, a.endpointId]);
              }
            }
          }
        }
        return disabled;
      }),

    deferDeliveries: (deferrals) =>
      commit(async (tx) => {
        for (const d of deferrals) await tx.run(DEFER, [d.until, d.deliveryId, d.leaseId]);
      }),

    nextWakeAt: async () => {
      // Includes leases: a lease's end is when its delivery may fall due again.
      const [row] = await rows<{ at: number }>(NEXT_DUE);
      return row?.at ?? null;
    },
  };
}

/** The outcomes in order, cut after each failure. */
function runsEndingAtFailures(outcomes: readonly AttemptOutcome[]): AttemptOutcome[][] {
  const runs: AttemptOutcome[][] = [[]];
  for (const o of outcomes) {
    runs[runs.length - 1]!.push(o);
    if (!o.attempt.succeeded) runs.push([]);
  }
  return runs.filter((run) => run.length > 0);
}

/**
 * Settles the outcomes' deliveries and inserts their attempts, two statements for them all;
 * returns the outcomes whose attempts were recorded. An attempt that happened is recorded even
 * if its lease was lost meanwhile; one whose delivery is gone (its app deleted) is not.
 */
async function settleAndInsert(tx: Tx, outcomes: readonly AttemptOutcome[]): Promise<AttemptOutcome[]> {
  const settled = new Set(
    (
      await tx.rows<{ id: string }>(SETTLE_ALL, [
        outcomes.map((o) => o.deliveryId),
        outcomes.map((o) => o.leaseId),
        outcomes.map((o) => STATUS_AFTER[o.next.kind]),
        outcomes.map((o) => (o.next.kind === 'retry' ? o.next.at : null)),
        outcomes.map((o) => o.attempt.createdAt),
        outcomes.map((o) => o.deliveryId),
        'pending',
      ])
    ).map((r) => r.id),
  );
  const unsettled = outcomes.map((o) => o.deliveryId).filter((id) => !settled.has(id));
  const remaining =
    unsettled.length === 0
      ? settled
      : new Set([...settled, ...(await tx.rows<{ id: string }>(STILL_THERE, [unsettled])).map((r) => r.id)]);
  const recorded = outcomes.filter((o) => remaining.has(o.deliveryId));
  if (recorded.length > 0) {
    await tx.run(
      INSERT_ATTEMPTS,
      columnsOf(
        recorded.map((o) => attemptInsertValues(o.attempt)),
        12,
      ),
    );
  }
  return recorded;
}
