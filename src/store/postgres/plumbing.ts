import { SEALED_MARK, sealedValueIn } from '../../domain/secret-box.js';
import { PRUNABLE_MESSAGES, PRUNE_ATTEMPTS, PRUNE_INBOUND, SEALED_SECRET_TEXTS } from '../sql.js';
import type { Store } from '../store.js';
import { coalescedLookup } from './coalesce.js';
import { type PgContext, prepared } from './database.js';

/** Every API call with an app's token looks it up, the calls of one turn together (coalescedLookup). */
const APP_TOKENS = prepared('SELECT hash, app_id, read_only, expires_at FROM app_tokens WHERE hash = ANY(?)');

interface AppTokenRow {
  hash: string;
  app_id: string;
  read_only: number;
  expires_at: number;
}

type PlumbingStore = Pick<
  Store,
  | 'getSetting'
  | 'setSetting'
  | 'setSettingIfAbsent'
  | 'findSealedSecret'
  | 'saveAppToken'
  | 'findAppToken'
  | 'revokeAppToken'
  | 'pruneExpired'
  | 'pruneRetention'
>;

/** Settings, app-scoped tokens and pruning. */
export function makePlumbing({ rows, commit }: PgContext): PlumbingStore {
  const tokenByHash = coalescedLookup(
    async (hashes) => new Map((await rows<AppTokenRow>(APP_TOKENS, [hashes])).map((r) => [r.hash, r])),
  );
  return {
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
    findSealedSecret: async () => {
      for (const sql of SEALED_SECRET_TEXTS) {
        const [row] = await rows<{ text: string }>(sql, [`%${SEALED_MARK}%`]);
        const sealed = row ? sealedValueIn(row.text) : null;
        if (sealed) return sealed;
      }
      return null;
    },
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
    revokeAppToken: (hash) =>
      commit(async (tx) => (await tx.run('DELETE FROM app_tokens WHERE hash = ?', [hash])) > 0),
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
