import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { tempDir } from '../helpers/hookgate.js';

/** The migration that added the bytes columns: the last one when it was written. */
const BYTES_MIGRATION = MIGRATIONS.findIndex((m) => m.includes('payload_bytes'));

describe('SQLite migration to bytes columns', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads messages, attempts and inbound requests written before it as they were', async () => {
    dir = tempDir();
    const path = join(dir, 'store.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    for (const m of MIGRATIONS.slice(0, BYTES_MIGRATION)) old.exec(m);
    old.pragma(`user_version = ${BYTES_MIGRATION}`);
    old.exec(`
      INSERT INTO apps (id, uid, name, metadata, rate_limit, created_at, updated_at)
        VALUES ('app_1', 'src_1', 'source s', '{}', NULL, 1, 1);
      INSERT INTO sources (id, uid, name, type, config, metadata, app_id, token, created_at, updated_at)
        VALUES ('src_1', NULL, 's', 'generic-webhook', '{}', '{}', 'app_1', 't', 1, 1);
      INSERT INTO messages (id, app_id, event_type, payload, created_at) VALUES ('msg_1', 'app_1', 'x', '{"a":"é"}', 1);
      INSERT INTO attempts (id, app_id, msg_id, endpoint_id, url, status_code, response, duration_ms, succeeded, manual, created_at)
        VALUES ('atmpt_1', 'app_1', 'msg_1', 'ep_1', 'http://127.0.0.1/', 200, 'ok é', 1, 1, 0, 1);
      INSERT INTO inbound_requests (id, source_id, status, status_code, reason, msg_id, event_type, dedupe_key, headers, body, created_at)
        VALUES ('log_1', 'src_1', 'accepted', 200, '', 'msg_1', 'x', NULL, '{}', '{"a":"é"}', 1);`);
    old.close();

    const store = openSqliteStore({ path });
    try {
      expect((await store.getMessage('app_1', 'msg_1'))?.payload).toBe('{"a":"é"}');
      expect((await store.getAttempt('app_1', 'msg_1', 'atmpt_1'))?.response).toBe('ok é');
      // A later migration spells request-log ids as the ingest spec does: `log…`, no underscore.
      expect((await store.getInbound('src_1', 'log1'))?.body).toBe('{"a":"é"}');
    } finally {
      await store.close();
    }
  });
});
