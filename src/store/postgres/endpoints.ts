import { ApiError } from '../../domain/errors.js';
import { editClosesCircuit } from '../../domain/health.js';
import { newId } from '../../domain/ids.js';
import type { Endpoint, EndpointSecret } from '../../domain/model.js';
import { rotatedSecrets } from '../../domain/signing.js';
import { pageBy } from '../pagination.js';
import { type EndpointRow, jsonOrNull, toEndpoint } from '../rows.js';
import {
  CLEAR_ENDPOINT_HEALTH,
  FAIL_PENDING_DELIVERIES,
  MARK_DISABLED_BY_API,
  RECOVER_DELIVERIES,
  RELEASE_HELD,
  RESET_HEALTH,
  timeRangeSql,
} from '../sql.js';
import type { SecretRotation, Store } from '../store.js';
import type { PgContext, Tx } from './database.js';
import { conflictOnUnique } from './errors.js';

type EndpointStore = Pick<
  Store,
  | 'createEndpoint'
  | 'getEndpoint'
  | 'listEndpoints'
  | 'updateEndpoint'
  | 'setEndpointHeaders'
  | 'rotateEndpointSecret'
  | 'deleteEndpoint'
  | 'endpointStats'
  | 'recoverEndpoint'
>;

export function makeEndpoints({ rows, commit }: PgContext): EndpointStore {
  const byId = async (q: Pick<Tx, 'rows'>, appId: string, id: string) => {
    const [row] = await q.rows<EndpointRow>('SELECT * FROM endpoints WHERE app_id = ? AND id = ?', [
      appId,
      id,
    ]);
    return row ? toEndpoint(row) : null;
  };
  const mustGet = async (tx: Tx, appId: string, id: string): Promise<Endpoint> => {
    // Row lock: concurrent rotations of one endpoint must not both read the old secret list.
    const [row] = await tx.rows<EndpointRow>(
      'SELECT * FROM endpoints WHERE app_id = ? AND id = ? FOR UPDATE',
      [appId, id],
    );
    if (!row) throw new ApiError('endpoint_not_found');
    return toEndpoint(row);
  };
  /**
   * The endpoint is being fixed: its circuit closes and what it held back is due now. The breaker
   * lives in the endpoint's row, so every node sees it closed; NOTIFY wakes their dispatchers.
   */
  const closeCircuit = async (tx: Tx, id: string, now: number) => {
    await tx.run(RESET_HEALTH, [id]);
    await tx.run(RELEASE_HELD, [now, id]);
    tx.notifyDue();
  };
  const rotateSecrets = (tx: Tx, endpoint: Endpoint, rotation: SecretRotation, now: number) =>
    tx.run('UPDATE endpoints SET secrets = ?, updated_at = ? WHERE app_id = ? AND id = ?', [
      JSON.stringify(rotatedSecrets(endpoint.secrets, rotation.key, rotation.graceUntil, now)),
      now,
      endpoint.appId,
      endpoint.id,
    ]);

  return {
    createEndpoint: (appId, input) =>
      commit(async (tx) => {
        const now = Date.now();
        const id = newId('ep', now);
        const secrets: EndpointSecret[] = [{ key: input.secret, expiresAt: null }];
        await conflictOnUnique(() =>
          tx.run(
            `INSERT INTO endpoints (id, app_id, uid, url, description, disabled, event_types, channels, metadata,
               rate_limit, headers, secrets, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            [
              id,
              appId,
              input.uid,
              input.url,
              input.description,
              input.disabled ? 1 : 0,
              jsonOrNull(input.eventTypes),
              jsonOrNull(input.channels),
              JSON.stringify(input.metadata),
              input.rateLimit,
              JSON.stringify(input.headers ?? {}),
              JSON.stringify(secrets),
              now,
              now,
            ],
          ),
        );
        return (await byId(tx, appId, id))!;
      }),

    getEndpoint: async (appId, idOrUid) => {
      const [row] = await rows<EndpointRow>(
        `(SELECT * FROM endpoints WHERE app_id = ? AND id = ?)
         UNION ALL (SELECT * FROM endpoints WHERE app_id = ? AND uid = ?) LIMIT 1`,
        [appId, idOrUid, appId, idOrUid],
      );
      return row ? toEndpoint(row) : null;
    },

    listEndpoints: (appId, page) =>
      pageBy<EndpointRow, Endpoint>(rows, {
        select: 'SELECT * FROM endpoints t',
        where: 't.app_id = ?',
        params: [appId],
        key: 't.id',
        page,
        map: toEndpoint,
        keyOf: (e) => e.id,
      }),

    updateEndpoint: (appId, id, input, rotate) =>
      commit(async (tx) => {
        const now = Date.now();
        const current = await mustGet(tx, appId, id);
        if (rotate) await rotateSecrets(tx, current, rotate, now);
        await conflictOnUnique(() =>
          tx.run(
            `UPDATE endpoints SET uid = ?, url = ?, description = ?, disabled = ?, event_types = ?, channels = ?,
               metadata = ?, rate_limit = ?, headers = ?, updated_at = ?
             WHERE app_id = ? AND id = ?`,
            [
              input.uid,
              input.url,
              input.description,
              input.disabled ? 1 : 0,
              jsonOrNull(input.eventTypes),
              jsonOrNull(input.channels),
              JSON.stringify(input.metadata),
              input.rateLimit,
              JSON.stringify(input.headers ?? current.headers),
              now,
              appId,
              id,
            ],
          ),
        );
        if (input.disabled && !current.disabled) {
          await tx.run(MARK_DISABLED_BY_API, [id]);
          await tx.run(FAIL_PENDING_DELIVERIES, [now, id, now]);
        }
        if (!input.disabled && current.disabled) await tx.run(CLEAR_ENDPOINT_HEALTH, [id]);
        if (editClosesCircuit({ before: current, after: input, secretRotated: rotate !== undefined }))
          await closeCircuit(tx, id, now);
        return (await byId(tx, appId, id))!;
      }),

    setEndpointHeaders: (appId, id, headers) =>
      commit(async (tx) => {
        await mustGet(tx, appId, id);
        await tx.run('UPDATE endpoints SET headers = ?, updated_at = ? WHERE app_id = ? AND id = ?', [
          JSON.stringify(headers),
          Date.now(),
          appId,
          id,
        ]);
        await closeCircuit(tx, id, Date.now());
      }),

    rotateEndpointSecret: (appId, id, rotation) =>
      commit(async (tx) => {
        await rotateSecrets(tx, await mustGet(tx, appId, id), rotation, Date.now());
        await closeCircuit(tx, id, Date.now());
      }),

    deleteEndpoint: (appId, id) =>
      commit(async (tx) => {
        await mustGet(tx, appId, id);
        await tx.run(
          `UPDATE deliveries SET status = 'cancelled', locked_until = 0, locked_by = NULL, updated_at = ?
           WHERE endpoint_id = ? AND status = 'pending'`,
          [Date.now(), id],
        );
        await tx.run('DELETE FROM endpoints WHERE app_id = ? AND id = ?', [appId, id]);
      }),

    endpointStats: async (appId, endpointId, range) => {
      const r = timeRangeSql(range, 'created_at');
      const counts = await rows<{ s: string; n: number }>(
        `SELECT CASE WHEN status = 'pending' AND locked_until > ? THEN 'sending' ELSE status END AS s, COUNT(*) AS n
         FROM deliveries WHERE app_id = ? AND endpoint_id = ?${r.sql.map((c) => ` AND ${c}`).join('')} GROUP BY 1`,
        [Date.now(), appId, endpointId, ...r.params],
      );
      const count = (s: string) => counts.find((row) => row.s === s)?.n ?? 0;
      return {
        success: count('succeeded'),
        pending: count('pending'),
        sending: count('sending'),
        fail: count('failed'),
        canceled: count('cancelled'),
      };
    },

    recoverEndpoint: (appId, endpointId, range, now) =>
      commit(async (tx) => {
        const r = timeRangeSql(range, 'created_at');
        const changed = await tx.run(`${RECOVER_DELIVERIES}${r.sql.map((c) => ` AND ${c}`).join('')}`, [
          now,
          now,
          appId,
          endpointId,
          ...r.params,
        ]);
        // Recovering is declaring the endpoint fixed: nothing waits out its open circuit.
        await closeCircuit(tx, endpointId, now);
        return changed;
      }),
  };
}
