import { SEALED_MARK, sealedValueIn } from '../../domain/secret-box.js';
import { PRUNABLE_MESSAGES, PRUNE_ATTEMPTS, PRUNE_INBOUND, SEALED_SECRET_TEXTS } from '../sql.js';
import type { Store } from '../store.js';
import type { SqliteContext } from './database.js';

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

/** Settings, app-scoped tokens and pruning: what the API needs besides the domain. */
export function makePlumbing({ prepare, commit }: SqliteContext): PlumbingStore {
  return {
    getSetting: async (key) =>
      (prepare('SELECT value FROM settings WHERE key = ?').pluck().get(key) as string | undefined) ?? null,
    setSetting: (key, value) =>
      commit(() => {
        prepare(
          'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        ).run(key, value);
      }),
    setSettingIfAbsent: (key, value) =>
      commit(() => {
        prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(
          key,
          value,
        );
        return prepare('SELECT value FROM settings WHERE key = ?').pluck().get(key) as string;
      }),
    findSealedSecret: async () => {
      for (const sql of SEALED_SECRET_TEXTS) {
        const text = prepare(sql).pluck().get(`%${SEALED_MARK}%`) as string | undefined;
        const sealed = text === undefined ? null : sealedValueIn(text);
        if (sealed) return sealed;
      }
      return null;
    },
    saveAppToken: (hash, token, expiresAt) =>
      commit(() => {
        prepare('INSERT INTO app_tokens (hash, app_id, read_only, expires_at) VALUES (?, ?, ?, ?)').run(
          hash,
          token.appId,
          token.readOnly ? 1 : 0,
          expiresAt,
        );
      }),
    findAppToken: async (hash, now) => {
      const row = prepare('SELECT app_id, read_only FROM app_tokens WHERE hash = ? AND expires_at > ?').get(
        hash,
        now,
      ) as { app_id: string; read_only: number } | undefined;
      return row ? { appId: row.app_id, readOnly: row.read_only === 1 } : null;
    },
    revokeAppToken: (hash) =>
      commit(() => prepare('DELETE FROM app_tokens WHERE hash = ?').run(hash).changes > 0),
    pruneExpired: (now, idempotencyBefore, batch) =>
      commit(() => {
        const idempotency = prepare(
          'DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE created_at < ? LIMIT ?)',
        ).run(idempotencyBefore, batch).changes;
        const tokens = prepare(
          'DELETE FROM app_tokens WHERE rowid IN (SELECT rowid FROM app_tokens WHERE expires_at <= ? LIMIT ?)',
        ).run(now, batch).changes;
        return idempotency + tokens;
      }),
    pruneRetention: (before, batch) =>
      commit(() => {
        let attempts = prepare(PRUNE_ATTEMPTS).run(before, batch).changes;
        const inboundRequests = prepare(PRUNE_INBOUND).run(before, batch).changes;
        const ids = prepare(PRUNABLE_MESSAGES).pluck().all(before, batch) as string[];
        const dropAttempts = prepare('DELETE FROM attempts WHERE msg_id = ?');
        const dropDeliveries = prepare('DELETE FROM deliveries WHERE msg_id = ?');
        const dropMessage = prepare('DELETE FROM messages WHERE id = ?');
        for (const id of ids) {
          attempts += dropAttempts.run(id).changes;
          dropDeliveries.run(id);
          dropMessage.run(id);
        }
        return { attempts, messages: ids.length, inboundRequests };
      }),
  };
}
