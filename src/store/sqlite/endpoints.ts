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
import type { SqliteContext } from './database.js';
import { conflictOnUnique } from './sql.js';

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

export function makeEndpoints({ prepare, all, commit }: SqliteContext): EndpointStore {
  const byId = (appId: string, id: string) => {
    const row = prepare('SELECT * FROM endpoints WHERE app_id = ? AND id = ?').get(appId, id) as
      | EndpointRow
      | undefined;
    return row ? toEndpoint(row) : null;
  };
  const mustGet = (appId: string, id: string): Endpoint => {
    const endpoint = byId(appId, id);
    if (!endpoint) throw new ApiError('endpoint_not_found');
    return endpoint;
  };

  /** The endpoint is being fixed: its circuit closes and what it held back is due now. */
  const closeCircuit = (id: string, now: number) => {
    prepare(RESET_HEALTH).run(id);
    prepare(RELEASE_HELD).run(now, id);
  };

  /** Makes the rotation's key current; the replaced one co-signs until its grace ends. */
  const rotateSecrets = (endpoint: Endpoint, rotation: SecretRotation, now: number) => {
    const secrets = rotatedSecrets(endpoint.secrets, rotation.key, rotation.graceUntil, now);
    prepare('UPDATE endpoints SET secrets = ?, updated_at = ? WHERE app_id = ? AND id = ?').run(
      JSON.stringify(secrets),
      now,
      endpoint.appId,
      endpoint.id,
    );
  };

  return {
    createEndpoint: (appId, input) =>
      commit(() => {
        const now = Date.now();
        const id = newId('ep', now);
        const secrets: EndpointSecret[] = [{ key: input.secret, expiresAt: null }];
        conflictOnUnique(() =>
          prepare(
            `INSERT INTO endpoints (id, app_id, uid, url, description, disabled, event_types, channels, metadata,
               rate_limit, headers, secrets, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ).run(
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
          ),
        );
        return byId(appId, id)!;
      }),

    getEndpoint: async (appId, idOrUid) => {
      const row = prepare(
        `SELECT * FROM endpoints WHERE app_id = ? AND id = ?
         UNION ALL SELECT * FROM endpoints WHERE app_id = ? AND uid = ? LIMIT 1`,
      ).get(appId, idOrUid, appId, idOrUid) as EndpointRow | undefined;
      return row ? toEndpoint(row) : null;
    },

    listEndpoints: async (appId, page) =>
      pageBy<EndpointRow, Endpoint>(all, {
        select: 'SELECT * FROM endpoints t',
        where: 't.app_id = ?',
        params: [appId],
        key: 't.id',
        page,
        map: toEndpoint,
        keyOf: (e) => e.id,
      }),

    updateEndpoint: (appId, id, input, rotate) =>
      commit(() => {
        const current = mustGet(appId, id);
        if (rotate) rotateSecrets(current, rotate, Date.now());
        conflictOnUnique(() =>
          prepare(
            `UPDATE endpoints SET uid = ?, url = ?, description = ?, disabled = ?, event_types = ?, channels = ?,
               metadata = ?, rate_limit = ?, headers = ?, updated_at = ?
             WHERE app_id = ? AND id = ?`,
          ).run(
            input.uid,
            input.url,
            input.description,
            input.disabled ? 1 : 0,
            jsonOrNull(input.eventTypes),
            jsonOrNull(input.channels),
            JSON.stringify(input.metadata),
            input.rateLimit,
            JSON.stringify(input.headers ?? current.headers),
            Date.now(),
            appId,
            id,
          ),
        );
        if (input.disabled && !current.disabled) {
          prepare(MARK_DISABLED_BY_API).run(id);
          prepare(FAIL_PENDING_DELIVERIES).run(Date.now(), id, Date.now());
        }
        if (!input.disabled && current.disabled) prepare(CLEAR_ENDPOINT_HEALTH).run(id);
        if (editClosesCircuit({ before: current, after: input, secretRotated: rotate !== undefined }))
          closeCircuit(id, Date.now());
        return byId(appId, id)!;
      }),

    setEndpointHeaders: (appId, id, headers) =>
      commit(() => {
        mustGet(appId, id);
        prepare('UPDATE endpoints SET headers = ?, updated_at = ? WHERE app_id = ? AND id = ?').run(
          JSON.stringify(headers),
          Date.now(),
          appId,
          id,
        );
        closeCircuit(id, Date.now());
      }),

    rotateEndpointSecret: (appId, id, rotation) =>
      commit(() => {
        rotateSecrets(mustGet(appId, id), rotation, Date.now());
        closeCircuit(id, Date.now());
      }),

    deleteEndpoint: (appId, id) =>
      commit(() => {
        mustGet(appId, id);
        prepare(
          `UPDATE deliveries SET status = 'cancelled', locked_until = 0, locked_by = NULL, updated_at = ?
           WHERE endpoint_id = ? AND status = 'pending'`,
        ).run(Date.now(), id);
        prepare('DELETE FROM endpoints WHERE app_id = ? AND id = ?').run(appId, id);
      }),

    endpointStats: async (appId, endpointId, range) => {
      const now = Date.now();
      const r = timeRangeSql(range, 'created_at');
      const rangeCond = r.sql.map((c) => ` AND ${c}`).join('');
      const rows = prepare(
        `SELECT CASE WHEN status = 'pending' AND locked_until > ? THEN 'sending' ELSE status END AS s, COUNT(*) AS n
         FROM deliveries WHERE app_id = ? AND endpoint_id = ?${rangeCond} GROUP BY s`,
      ).all(now, appId, endpointId, ...r.params) as Array<{ s: string; n: number }>;
      const count = (s: string) => rows.find((row) => row.s === s)?.n ?? 0;
      return {
        success: count('succeeded'),
        pending: count('pending'),
        sending: count('sending'),
        fail: count('failed'),
        canceled: count('cancelled'),
      };
    },

    recoverEndpoint: (appId, endpointId, range, now) =>
      commit(() => {
        const r = timeRangeSql(range, 'created_at');
        const rangeCond = r.sql.map((c) => ` AND ${c}`).join('');
        const result = prepare(`${RECOVER_DELIVERIES}${rangeCond}`).run(
          now,
          now,
          appId,
          endpointId,
          ...r.params,
        );
        // Recovering is declaring the endpoint fixed: nothing waits out its open circuit.
        closeCircuit(endpointId, now);
        return result.changes;
      }),
  };
}
