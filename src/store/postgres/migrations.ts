/**
 * Numbered migrations for the PostgreSQL store, each applied once in order under an advisory
 * lock (see database.ts). Column names and encodings match the SQLite schema (epoch-ms BIGINT
 * times, 0/1 flags, JSON as text) so both stores share their row mappers. Append only.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE apps (
    id TEXT PRIMARY KEY,
    uid TEXT UNIQUE,
    name TEXT NOT NULL,
    metadata TEXT NOT NULL,
    rate_limit INTEGER,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );

  CREATE TABLE event_types (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    archived INTEGER NOT NULL,
    deprecated INTEGER NOT NULL,
    feature_flag TEXT,
    schemas TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );

  CREATE TABLE endpoints (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    uid TEXT,
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    disabled INTEGER NOT NULL,
    event_types TEXT,
    channels TEXT,
    metadata TEXT NOT NULL,
    rate_limit INTEGER,
    headers TEXT NOT NULL,
    secrets TEXT NOT NULL,
    disabled_reason TEXT,
    -- Health: failures in a row, since when, and until when the circuit is open (0: closed;
    -- a past time: half-open, one probe at a time).
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failing_since BIGINT,
    circuit_period_ms INTEGER NOT NULL DEFAULT 0,
    circuit_open_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (app_id, uid)
  );
  CREATE INDEX endpoints_by_app ON endpoints (app_id, id);

  CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_id TEXT,
    payload TEXT NOT NULL,
    content_type TEXT,
    headers TEXT,
    channels TEXT,
    tags TEXT,
    deliver_at BIGINT,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX messages_by_app ON messages (app_id, id);
  CREATE UNIQUE INDEX messages_by_event_id ON messages (app_id, event_id) WHERE event_id IS NOT NULL;
  CREATE INDEX messages_by_created_at ON messages (created_at);

  CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    locked_until BIGINT NOT NULL DEFAULT 0,
    locked_by TEXT,
    manual INTEGER NOT NULL DEFAULT 0,
    requeued INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (msg_id, endpoint_id)
  );
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at, endpoint_id, locked_until) WHERE status = 'pending';
  CREATE INDEX deliveries_by_endpoint ON deliveries (endpoint_id, status, created_at);
  CREATE INDEX deliveries_by_endpoint_msg ON deliveries (endpoint_id, msg_id);

  CREATE TABLE attempts (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    url TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    succeeded INTEGER NOT NULL,
    manual INTEGER NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX attempts_by_endpoint ON attempts (endpoint_id, id);
  CREATE INDEX attempts_by_msg ON attempts (msg_id, id);
  CREATE INDEX attempts_by_app ON attempts (app_id, id);
  CREATE INDEX attempts_by_created_at ON attempts (created_at);

  CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
  );
  CREATE INDEX idempotency_by_created_at ON idempotency (created_at);

  CREATE TABLE sources (
    id TEXT PRIMARY KEY,
    uid TEXT UNIQUE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    config TEXT NOT NULL,
    metadata TEXT NOT NULL,
    app_id TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );

  CREATE TABLE inbound_requests (
    id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL,
    status TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    reason TEXT NOT NULL,
    msg_id TEXT,
    event_type TEXT,
    dedupe_key TEXT,
    headers TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX inbound_by_source ON inbound_requests (source_id, id);
  CREATE INDEX inbound_by_created_at ON inbound_requests (created_at);
  CREATE INDEX inbound_by_dedupe_key ON inbound_requests (source_id, dedupe_key, created_at)
    WHERE status = 'accepted' AND dedupe_key IS NOT NULL;

  CREATE TABLE app_tokens (
    hash TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    read_only INTEGER NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX app_tokens_by_expiry ON app_tokens (expires_at);
  `,
  `
  -- Indexes every message paid for on the write path (BENCHMARKS.md, "fewer indexes").
  -- deliveries_by_endpoint (endpoint_id, status, created_at) was rewritten at every settle, in a
  -- leaf page per endpoint; what needs it fast (an endpoint's waiting deliveries, when its
  -- circuit opens or it is disabled or deleted) needs only the pending rows. attempts_by_app
  -- served no query: attempts are listed by endpoint or by message, and an application's are
  -- deleted through its messages. Recovering an endpoint reads its failed rows alone, which few
  -- deliveries ever join. Attempts whose message retention already dropped (retention now drops
  -- them together) go now, so app deletion through messages reaches every attempt.
  CREATE INDEX deliveries_pending_by_endpoint ON deliveries (endpoint_id) WHERE status = 'pending';
  CREATE INDEX deliveries_failed_by_endpoint ON deliveries (endpoint_id, created_at) WHERE status = 'failed';
  DROP INDEX deliveries_by_endpoint;
  DROP INDEX attempts_by_app;
  DELETE FROM attempts WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = attempts.msg_id);
  `,
  `
  -- Idempotency-Key reservations: a row is inserted before its request runs (status_code 0: in
  -- progress, held by owner until locked_until), so one request per key executes, across
  -- nodes and crashes; the response replaces it, with a publish in the publish's own commit.
  ALTER TABLE idempotency ADD COLUMN owner TEXT;
  ALTER TABLE idempotency ADD COLUMN locked_until BIGINT NOT NULL DEFAULT 0;
  `,
  `
  -- Foreign bytes (store/bytes.ts): a message payload, an inbound request body or a receiver's
  -- answer that text cannot hold (a NUL, bytes that are not UTF-8) is kept here, its text column
  -- left empty. Nullable without a default: adding them rewrites nothing, and rows written before
  -- read as they did.
  ALTER TABLE messages ADD COLUMN payload_bytes BYTEA;
  ALTER TABLE inbound_requests ADD COLUMN body_bytes BYTEA;
  ALTER TABLE attempts ADD COLUMN response_bytes BYTEA;
  `,
  `
  -- Spec shapes: Svix Ingest spells request-log ids \`log\` + 22 digits, without the underscore
  -- Hookgate used (IngestLogOut.id: ^log[A-Za-z0-9]{21,22}$). The stored ones are renamed (same
  -- digits, so the order is kept); the API still finds a record by its old spelling.
  UPDATE inbound_requests SET id = 'log' || substr(id, 5) WHERE substr(id, 1, 4) = 'log_';
  -- A message whose content was expunged (DELETE …/msg/{id}/content): when, or NULL.
  ALTER TABLE messages ADD COLUMN expunged_at BIGINT;
  `,
];
