import type { MessageStatusText } from '../domain/model.js';
import type { DeliveryNext } from '../domain/retry.js';
import type { TimeRange } from './store.js';

/**
 * A time range as SQL conditions on `column`: `since` inclusive, `until` exclusive, so adjacent
 * ranges neither overlap nor leave a gap.
 */
export function timeRangeSql(range: TimeRange, column: string): { sql: string[]; params: number[] } {
  const sql: string[] = [];
  const params: number[] = [];
  if (range.since !== null) {
    sql.push(`${column} >= ?`);
    params.push(range.since);
  }
  if (range.until !== null) {
    sql.push(`${column} < ?`);
    params.push(range.until);
  }
  return { sql, params };
}

/*
 * Statements both stores run as they are (`?` placeholders; PostgreSQL's are numbered for it).
 * Dialect-specific SQL stays in each store.
 */

/** Makes (or resets) a delivery due now, its next attempt marked manual: resend and replay. A
 * delivery leased right now keeps its lease; `requeued` makes its attempt's result give way. */
export const REQUEUE_DELIVERY = `INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, next_attempt_at, manual, created_at, updated_at)
  VALUES (?, ?, ?, ?, 'pending', ?, 1, ?, ?)
  ON CONFLICT (msg_id, endpoint_id) DO UPDATE
    SET status = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at, manual = 1,
        requeued = CASE WHEN deliveries.locked_until > excluded.updated_at THEN 1 ELSE 0 END,
        updated_at = excluded.updated_at`;

/** SQL conditions on a delivery row (`t`) for each reported status. */
export const DELIVERY_STATUS_CONDITIONS: Record<MessageStatusText, (now: number) => [string, ...unknown[]]> =
  {
    success: () => ["t.status = 'succeeded'"],
    fail: () => ["t.status IN ('failed', 'cancelled')"],
    pending: (now) => ["t.status = 'pending' AND t.locked_until <= ?", now],
    sending: (now) => ["t.status = 'pending' AND t.locked_until > ?", now],
  };

/** The delivery status each outcome leaves behind. */
export const STATUS_AFTER: Record<DeliveryNext['kind'], string> = {
  succeeded: 'succeeded',
  succeeded_and_disable_endpoint: 'succeeded',
  retry: 'pending',
  failed: 'failed',
  failed_and_disable_endpoint: 'failed',
};

/**
 * Settles a delivery after an attempt, only under the lease it ran with. Parameters: status,
 * now, next attempt time, now, delivery id, lease id. A delivery requeued (resend, replay)
 * while the attempt ran is not settled by it: it starts a fresh cycle now, marked manual.
 */
export const SETTLE_DELIVERY = `UPDATE deliveries
  SET status = CASE WHEN requeued = 1 THEN 'pending' ELSE ? END,
      attempts = CASE WHEN requeued = 1 THEN 0 ELSE attempts + 1 END,
      next_attempt_at = CASE WHEN requeued = 1 THEN CAST(? AS BIGINT) ELSE CAST(? AS BIGINT) END,
      manual = requeued, requeued = 0, locked_until = 0, locked_by = NULL, updated_at = ?
  WHERE id = ? AND locked_by = ? AND status = 'pending'`;

/** Parameters: attemptInsertValues (rows.ts). */
export const INSERT_ATTEMPT = `INSERT INTO attempts (id, app_id, msg_id, endpoint_id, url, status_code, response,
    response_bytes, duration_ms, succeeded, manual, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Fails an endpoint's waiting deliveries at once when it is disabled, so they neither wait in
 * the due index in front of healthy work nor surprise anyone later; recover re-queues them.
 * Deliveries in flight settle on their own. Parameters: now, endpoint id, now.
 */
export const FAIL_PENDING_DELIVERIES = `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, updated_at = ?
  WHERE endpoint_id = ? AND status = 'pending' AND locked_until <= ?`;

/** Retention, in bounded batches (parameters: cutoff, batch size). */
export const PRUNE_ATTEMPTS = `DELETE FROM attempts WHERE id IN
  (SELECT id FROM attempts WHERE created_at < ? ORDER BY created_at LIMIT ?)`;
export const PRUNE_INBOUND = `DELETE FROM inbound_requests WHERE id IN
  (SELECT id FROM inbound_requests WHERE created_at < ? ORDER BY created_at LIMIT ?)`;
/**
 * An application's deliveries and attempts, reached through its messages: neither table has an
 * index by application, and every delivery and attempt has its message (retention drops them
 * with it; schema migration 2 dropped attempts left without one). Parameter: app id.
 */
export const DELETE_APP_ATTEMPTS =
  'DELETE FROM attempts WHERE msg_id IN (SELECT id FROM messages WHERE app_id = ?)';
export const DELETE_APP_DELIVERIES =
  'DELETE FROM deliveries WHERE msg_id IN (SELECT id FROM messages WHERE app_id = ?)';

/**
 * An endpoint's failed deliveries back to pending, a fresh retry cycle whose first attempt is
 * marked manual; the caller appends its time range. Parameters: now, now, app id, endpoint id.
 */
export const RECOVER_DELIVERIES = `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, manual = 1, updated_at = ?
  WHERE app_id = ? AND endpoint_id = ? AND status = 'failed'`;

/** Old messages none of whose deliveries is still pending. */
export const PRUNABLE_MESSAGES = `SELECT id FROM messages m WHERE created_at < ?
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.msg_id = m.id AND d.status = 'pending')
  ORDER BY created_at LIMIT ?`;

/** Parameters: messageInsertValues (rows.ts). */
export const INSERT_MESSAGE = `INSERT INTO messages (id, app_id, event_type, event_id, payload, payload_bytes, content_type,
    headers, channels, tags, deliver_at, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export const INSERT_DELIVERY = `INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, next_attempt_at, created_at,
    updated_at)
  VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`;

/* Endpoint health (see domain/health.ts). */

/**
 * A success, or an edit that fixes the endpoint (see editClosesCircuit), closes the circuit and
 * ends the failure streak; RELEASE_HELD then makes what the circuit held back due. Parameter:
 * endpoint id.
 */
export const RESET_HEALTH = `UPDATE endpoints SET consecutive_failures = 0, failing_since = NULL, circuit_open_until = 0, circuit_period_ms = 0
  WHERE id = ? AND (consecutive_failures <> 0 OR circuit_open_until <> 0)`;

/** Counts one failure; returns the streak. Parameters: now, endpoint id. */
export const COUNT_FAILURE = `UPDATE endpoints
  SET consecutive_failures = consecutive_failures + 1, failing_since = COALESCE(failing_since, ?)
  WHERE id = ? AND disabled = 0
  RETURNING app_id, consecutive_failures, failing_since, circuit_open_until, circuit_period_ms`;

/** Parameters: open until, period in ms, endpoint id. */
export const OPEN_CIRCUIT = 'UPDATE endpoints SET circuit_open_until = ?, circuit_period_ms = ? WHERE id = ?';

/** Closes the circuit, the failure streak kept (breaker turned off). Parameter: endpoint id. */
export const CLOSE_CIRCUIT =
  'UPDATE endpoints SET circuit_open_until = 0, circuit_period_ms = 0 WHERE id = ?';

/**
 * Marks a delivery held back by its endpoint's circuit (in `locked_by`, with no lease:
 * `locked_until` stays in the past). A lease, a settle or a deferral overwrites it; closing the
 * circuit makes the deliveries so marked due at once (RELEASE_HELD).
 */
export const HELD_BY_CIRCUIT = 'circuit';

/**
 * Moves an endpoint's waiting deliveries to when its circuit half-opens (or its probe's lease
 * ends): they wait without using attempts, and out of the due range so claims do not wade
 * through them. Parameters: until, endpoint id, now, until.
 */
export const DEFER_ENDPOINT_DELIVERIES = `UPDATE deliveries SET next_attempt_at = ?, locked_by = '${HELD_BY_CIRCUIT}'
  WHERE endpoint_id = ? AND status = 'pending' AND locked_until <= ? AND next_attempt_at < ?`;

/**
 * The circuit closed (a success, or an edit meant to fix the endpoint): the deliveries it held
 * back are due now rather than when it would have half-opened. Parameters: now, endpoint id.
 */
export const RELEASE_HELD = `UPDATE deliveries SET next_attempt_at = ?, locked_by = NULL
  WHERE endpoint_id = ? AND status = 'pending' AND locked_by = '${HELD_BY_CIRCUIT}'`;

/** Disables an enabled endpoint; changes nothing if it already is. Parameters: reason, now, endpoint id. */
export const DISABLE_ENDPOINT = `UPDATE endpoints SET disabled = 1, disabled_reason = ?, circuit_open_until = 0, updated_at = ?
  WHERE id = ? AND disabled = 0`;

/** Gives a leased delivery back without an attempt. Parameters: until, delivery id, lease id. */
export const DEFER_DELIVERY = `UPDATE deliveries SET next_attempt_at = ?, locked_until = 0, locked_by = NULL
  WHERE id = ? AND locked_by = ? AND status = 'pending'`;

/** Parameter: endpoint id. */
export const MARK_DISABLED_BY_API = `UPDATE endpoints SET disabled_reason = 'manual' WHERE id = ?`;

/** Re-enabled: a fresh start, with no reason, streak or open circuit. Parameter: endpoint id. */
export const CLEAR_ENDPOINT_HEALTH = `UPDATE endpoints
  SET disabled_reason = NULL, consecutive_failures = 0, failing_since = NULL, circuit_open_until = 0,
      circuit_period_ms = 0
  WHERE id = ?`;

/** Parameters: inboundInsertValues (rows.ts). */
export const INSERT_INBOUND = `INSERT INTO inbound_requests (id, source_id, status, status_code, reason, msg_id, event_type,
    dedupe_key, headers, body, body_bytes, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/*
 * Idempotency-Key reservations. A row with status_code 0 is in progress, held by `owner` until
 * `locked_until`; any other status_code is the stored response. Only the holder may finish,
 * renew or release it, so a request that lost its reservation (its lease ran out and another
 * took it over) changes nothing.
 */

/**
 * Inserts an in-progress row, or takes over one whose lease ran out; returns a row only when the
 * caller now holds it. Parameters: scope, key, owner, lease end, now.
 */
export const RESERVE_IDEMPOTENCY_KEY = `INSERT INTO idempotency AS i (scope, key, owner, locked_until, status_code, body, created_at)
  VALUES (?, ?, ?, ?, 0, '', ?)
  ON CONFLICT (scope, key) DO UPDATE
    SET owner = excluded.owner, locked_until = excluded.locked_until, created_at = excluded.created_at
    WHERE i.status_code = 0 AND i.locked_until <= excluded.created_at
  RETURNING owner`;

/** Stores the holder's response. Parameters: status code, body, scope, key, owner. */
export const FINISH_IDEMPOTENCY_KEY = `UPDATE idempotency SET status_code = ?, body = ?, owner = NULL, locked_until = 0
  WHERE scope = ? AND key = ? AND owner = ? AND status_code = 0`;

/** Extends the holder's lease. Parameters: lease end, scope, key, owner. */
export const RENEW_IDEMPOTENCY_KEY = `UPDATE idempotency SET locked_until = ?
  WHERE scope = ? AND key = ? AND owner = ? AND status_code = 0`;

/** Ends the holder's lease at once, so the next request takes the key. Parameters: scope, key, owner. */
export const RELEASE_IDEMPOTENCY_KEY = `UPDATE idempotency SET locked_until = 0
  WHERE scope = ? AND key = ? AND owner = ? AND status_code = 0`;

/** Rewrites a finished response (a publish whose eventId was taken answers with that message). */
export const REWRITE_IDEMPOTENT_RESPONSE = `UPDATE idempotency SET status_code = ?, body = ?
  WHERE scope = ? AND key = ?`;

/**
 * Stored texts holding a sealed secret (`LIKE` with the sealed mark): an endpoint's signing
 * secrets, a source's config. For checking the configured key at start; one row is enough.
 */
export const SEALED_SECRET_TEXTS = [
  'SELECT secrets AS text FROM endpoints WHERE secrets LIKE ? LIMIT 1',
  'SELECT config AS text FROM sources WHERE config LIKE ? LIMIT 1',
] as const;
