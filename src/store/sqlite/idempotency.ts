import {
  FINISH_IDEMPOTENCY_KEY,
  RELEASE_IDEMPOTENCY_KEY,
  RENEW_IDEMPOTENCY_KEY,
  RESERVE_IDEMPOTENCY_KEY,
} from '../sql.js';
import type { IdempotencyKey, IdempotencyState, Store, StoredResponse } from '../store.js';
import type { Prepare, SqliteContext } from './database.js';

type IdempotencyStore = Pick<
  Store,
  'reserveIdempotencyKey' | 'renewIdempotencyKey' | 'finishIdempotencyKey' | 'releaseIdempotencyKey'
>;

/** Reserves `key`, inside the caller's transaction (see Store.reserveIdempotencyKey). */
export function reserveKey(
  prepare: Prepare,
  k: IdempotencyKey,
  now: number,
  leaseUntil: number,
): IdempotencyState {
  if (prepare(RESERVE_IDEMPOTENCY_KEY).get(k.scope, k.key, k.owner, leaseUntil, now))
    return { state: 'reserved' };
  const row = prepare('SELECT status_code, body FROM idempotency WHERE scope = ? AND key = ?').get(
    k.scope,
    k.key,
  ) as { status_code: number; body: string } | undefined;
  return row && row.status_code !== 0
    ? { state: 'finished', response: { statusCode: row.status_code, body: row.body } }
    : { state: 'in_progress' };
}

/** Stores the response, inside the caller's transaction; false when `k.owner` no longer holds the key. */
export function finishKey(prepare: Prepare, k: IdempotencyKey, response: StoredResponse): boolean {
  return (
    prepare(FINISH_IDEMPOTENCY_KEY).run(response.statusCode, response.body, k.scope, k.key, k.owner)
      .changes === 1
  );
}

/** Idempotency-Key reservations. One process owns the file, so each runs alone in its commit. */
export function makeIdempotency({ prepare, commit }: SqliteContext): IdempotencyStore {
  // Reservations, renewals and releases need no fsync: losing one to a power cut loses no
  // response (those are durable), and the write it guarded was not acknowledged either.
  const quick = { durable: false };
  return {
    reserveIdempotencyKey: (k, now, leaseUntil) =>
      commit(() => reserveKey(prepare, k, now, leaseUntil), quick),
    renewIdempotencyKey: (k, leaseUntil) =>
      commit(
        () => prepare(RENEW_IDEMPOTENCY_KEY).run(leaseUntil, k.scope, k.key, k.owner).changes === 1,
        quick,
      ),
    finishIdempotencyKey: (k, response) => commit(() => finishKey(prepare, k, response)),
    releaseIdempotencyKey: (k) =>
      commit(() => {
        prepare(RELEASE_IDEMPOTENCY_KEY).run(k.scope, k.key, k.owner);
      }, quick),
  };
}
