import {
  FINISH_IDEMPOTENCY_KEY,
  RELEASE_IDEMPOTENCY_KEY,
  RENEW_IDEMPOTENCY_KEY,
  RESERVE_IDEMPOTENCY_KEY,
} from '../sql.js';
import type { IdempotencyKey, IdempotencyState, Store } from '../store.js';
import { coalescedWrite } from './coalesce.js';
import { columnsOf, type PgContext, prepared, type Tx } from './database.js';

type IdempotencyStore = Pick<
  Store,
  'reserveIdempotencyKey' | 'renewIdempotencyKey' | 'finishIdempotencyKey' | 'releaseIdempotencyKey'
>;

interface Reservation {
  key: IdempotencyKey;
  now: number;
  leaseUntil: number;
}

interface ReserveRow {
  scope: string;
  key: string;
  reserved: boolean;
  status_code: number | null;
  body: string | null;
}

/**
 * RESERVE_IDEMPOTENCY_KEY for many keys in one statement (the svix clients send a key with every
 * POST), answering each with whether it is now held and, if not, the row as it was before the
 * statement. Parameters: arrays of scope, key, owner, lease end, now; each (scope, key) once.
 * A row another transaction inserted meanwhile is missing from that answer: in progress.
 */
const RESERVE_KEYS = prepared(`WITH p AS (
    SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[])
      AS p (scope, key, owner, locked_until, now)),
  r AS (
    INSERT INTO idempotency AS i (scope, key, owner, locked_until, status_code, body, created_at)
    SELECT scope, key, owner, locked_until, 0, '', now FROM p
    ON CONFLICT (scope, key) DO UPDATE
      SET owner = excluded.owner, locked_until = excluded.locked_until, created_at = excluded.created_at
      WHERE i.status_code = 0 AND i.locked_until <= excluded.created_at
    RETURNING scope, key)
  SELECT p.scope, p.key, r.key IS NOT NULL AS reserved, i.status_code, i.body
  FROM p
  LEFT JOIN r ON r.scope = p.scope AND r.key = p.key
  LEFT JOIN LATERAL (SELECT status_code, body FROM idempotency
    WHERE scope = p.scope AND key = p.key OFFSET 0) i ON true`);

const RESERVE_ONE = prepared(RESERVE_IDEMPOTENCY_KEY);
const FINISH = prepared(FINISH_IDEMPOTENCY_KEY);

function stateOf(row: Pick<ReserveRow, 'reserved' | 'status_code' | 'body'> | undefined): IdempotencyState {
  if (row?.reserved) return { state: 'reserved' };
  return row && row.status_code !== null && row.status_code !== 0
    ? { state: 'finished', response: { statusCode: row.status_code, body: row.body ?? '' } }
    : { state: 'in_progress' };
}

async function reserveAll(tx: Tx, batch: readonly Reservation[]): Promise<IdempotencyState[]> {
  // One row may not be upserted twice by one statement: a key's repeats in the batch wait.
  const ids = batch.map((r) => JSON.stringify([r.key.scope, r.key.key]));
  // In key order: two transactions upserting the same keys lock them in one order, never crosswise.
  const firsts = batch
    .filter((_, i) => ids.indexOf(ids[i]!) === i)
    .sort((a, b) => compare(a.key.scope, b.key.scope) || compare(a.key.key, b.key.key));
  const found = await tx.rows<ReserveRow>(
    RESERVE_KEYS,
    columnsOf(
      firsts.map((r) => [r.key.scope, r.key.key, r.key.owner, r.leaseUntil, r.now]),
      5,
    ),
  );
  const byId = new Map(found.map((row) => [JSON.stringify([row.scope, row.key]), stateOf(row)]));
  return ids.map((id, i) => {
    const state = byId.get(id) ?? { state: 'in_progress' };
    // A repeat of a key reserved earlier in the batch waits for that request.
    return ids.indexOf(id) === i || state.state === 'finished' ? state : { state: 'in_progress' };
  });
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function reserveOne(tx: Tx, r: Reservation): Promise<IdempotencyState> {
  const k = r.key;
  const [held] = await tx.rows(RESERVE_ONE, [k.scope, k.key, k.owner, r.leaseUntil, r.now]);
  if (held) return { state: 'reserved' };
  const [row] = await tx.rows<ReserveRow>(
    'SELECT status_code, body FROM idempotency WHERE scope = ? AND key = ?',
    [k.scope, k.key],
  );
  return stateOf(row && { ...row, reserved: false });
}

/** Stores the response inside the caller's transaction; false when `k.owner` no longer holds the key. */
export async function finishKey(
  tx: Pick<Tx, 'run'>,
  k: IdempotencyKey,
  response: { statusCode: number; body: string },
): Promise<boolean> {
  return (await tx.run(FINISH, [response.statusCode, response.body, k.scope, k.key, k.owner])) === 1;
}

/** Idempotency-Key reservations, atomic across nodes: each is one upsert on the key's row. */
export function makeIdempotency({ commit }: PgContext): IdempotencyStore {
  const reserve = coalescedWrite<Reservation, IdempotencyState>(commit, reserveAll, reserveOne);
  return {
    reserveIdempotencyKey: (key, now, leaseUntil) => reserve({ key, now, leaseUntil }),
    renewIdempotencyKey: (k, leaseUntil) =>
      commit(
        async (tx) => (await tx.run(RENEW_IDEMPOTENCY_KEY, [leaseUntil, k.scope, k.key, k.owner])) === 1,
      ),
    finishIdempotencyKey: (k, response) => commit((tx) => finishKey(tx, k, response)),
    releaseIdempotencyKey: (k) =>
      commit(async (tx) => {
        await tx.run(RELEASE_IDEMPOTENCY_KEY, [k.scope, k.key, k.owner]);
      }),
  };
}
