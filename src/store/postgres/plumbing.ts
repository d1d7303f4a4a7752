import { PRUNABLE_MESSAGES, PRUNE_ATTEMPTS, PRUNE_INBOUND } from '../sql.js';
import type { Store } from '../store.js';
import { coalescedLookup, coalescedWrite } from './coalesce.js';
import { columnsOf, type PgContext, prepared } from './database.js';

/** Every API call with an app's token looks it up, the calls of one turn together (coalescedLookup). */
const APP_TOKENS = prepared('SELECT hash, app_id, read_only, expires_at FROM app_tokens WHERE hash = ANY(?)');

/** Parameters: scopes, keys (pairs). Each pair read by its key (OFFSET 0: see LEASE_AND_READ in dispatch.ts). */
const IDEMPOTENT_RESPONSES = prepared(`SELECT i.scope, i.key, i.status_code, i.body
  FROM unnest(?::text[], ?::text[]) AS p (scope, key)
  CROSS JOIN LATERAL (SELECT scope, key, status_code, body FROM idempotency
    WHERE scope = p.scope AND key = p.key OFFSET 0) i`);

/** Parameters: arrays of scope, key, status code, body, creation time. The first stored stays. */
const SAVE_IDEMPOTENT_RESPONSES =
  prepared(`INSERT INTO idempotency (scope, key, status_code, body, created_at)
  SELECT * FROM unnest(?::text[], ?::text[], ?::integer[], ?::text[], ?::bigint[])
  ON CONFLICT DO NOTHING`);

interface IdempotencyRow {
  scope: string;
  key: string;
  status_code: number;
  body: string;
}

/** An idempotency record in SAVE_IDEMPOTENT_RESPONSES's column order. */
type IdempotencyValues = [scope: string, key: string, statusCode: number, body: string, createdAt: number];

interface AppTokenRow {
  hash: string;
  app_id: string;
  read_only: number;
  expires_at: number;
}

type PlumbingStore = Pick<
  Store,
  | 'getIdempotentResponse'
  | 'saveIdempotentResponse'
  | 'getSetting'
  | 'setSetting'
  | 'setSettingIfAbsent'
  | 'saveAppToken'
  | 'findAppToken'
  | 'pruneExpired'
  | 'pruneRetention'
>;

/** Settings, idempotency records and app-scoped tokens. */
export function makePlumbing({ rows, commit }: PgContext): PlumbingStore {
  // The svix clients send an Idempotency-Key with every POST: a look-up and a write per publish.
  const idempotentResponse = coalescedLookup(async (ids) => {
    const pairs = ids.map((id) => JSON.parse(id) as [scope: string, key: string]);
    const found = await rows<IdempotencyRow>(IDEMPOTENT_RESPONSES, [
      pairs.map(([scope]) => scope),
      pairs.map(([, key]) => key),
    ]);
    return new Map(found.map((r) => [JSON.stringify([r.scope, r.key]), r]));
  });
  const saveIdempotentResponse = coalescedWrite<IdempotencyValues, void>(
    commit,
    async (tx, records) => {
      await tx.run(SAVE_IDEMPOTENT_RESPONSES, columnsOf(records, 5));
      return records.map(() => undefined);
    },
    async (tx, record) => {
      await tx.run(SAVE_IDEMPOTENT_RESPONSES, columnsOf([record], 5));
    },
  );
  const tokenByHash = coalescedLookup(
    async (hashes) => new Map((await rows<AppTokenRow>(APP_TOKENS, [hashes])).map((r) => [r.hash, r])),
  );
  return {
    getIdempotentResponse: async (scope, key) => {
      const row = await idempotentResponse(JSON.stringify([scope, key]));
      return row ? { statusCode: row.status_code, body: row.body } : null;
    },
    saveIdempotentResponse: (scope, key, response, now) =>
      saveIdempotentResponse([scope, key, response.statusCode, response.body, now]),
    getSetting: async (key) =>
      (await rows<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key]))[0]?.value ?? null,
    setSetting: (key, value) =>
      commit(async (tx) => {
        await tx.run(
          'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
          [key, value],
        );
      }),
    setSettingIfAbsent: (key, value) =>
      commit(async (tx) => {
        // ON CONFLICT waits for a concurrent insert of the key to commit, then returns no row.
        const [inserted] = await tx.rows<{ value: string }>(
          'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING RETURNING value',
          [key, value],
        );
        if (inserted) return inserted.value;
        const [stored] = await tx.rows<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key]);
        return stored!.value;
      }),
    saveAppToken: (hash, token, expiresAt) =>
      commit(async (tx) => {
        await tx.run('INSERT INTO app_tokens (hash, app_id, read_only, expires_at) VALUES (?, ?, ?, ?)', [
          hash,
          token.appId,
          token.readOnly ? 1 : 0,
          expiresAt,
        ]);
      }),
    findAppToken: async (hash, now) => {
      const row = await tokenByHash(hash);
      return row && row.expires_at > now ? { appId: row.app_id, readOnly: row.read_only === 1 } : null;
    },
    pruneExpired: (now, idempotencyBefore, batch) =>
      commit(async (tx) => {
        const idempotency = await tx.run(
          `DELETE FROM idempotency WHERE (scope, key) IN
             (SELECT scope, key FROM idempotency WHERE created_at < ? LIMIT ?)`,
          [idempotencyBefore, batch],
        );
        const tokens = await tx.run(
          'DELETE FROM app_tokens WHERE hash IN (SELECT hash FROM app_tokens WHERE expires_at <= ? LIMIT ?)',
          [now, batch],
        );
        return idempotency + tokens;
      }),
    pruneRetention: (before, batch) =>
      commit(async (tx) => {
        let attempts = await tx.run(PRUNE_ATTEMPTS, [before, batch]);
        const inboundRequests = await tx.run(PRUNE_INBOUND, [before, batch]);
        const ids = (await tx.rows<{ id: string }>(PRUNABLE_MESSAGES, [before, batch])).map((r) => r.id);
        if (ids.length > 0) {
          attempts += await tx.run('DELETE FROM attempts WHERE msg_id = ANY(?)', [ids]);
          await tx.run('DELETE FROM deliveries WHERE msg_id = ANY(?)', [ids]);
          await tx.run('DELETE FROM messages WHERE id = ANY(?)', [ids]);
        }
        return { attempts, messages: ids.length, inboundRequests };
      }),
  };
}
