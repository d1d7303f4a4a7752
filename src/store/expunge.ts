/**
 * Content expunge (Svix's `v1.message.expunge-content` and `v1.message-attempt.expunge-content`),
 * written once for both stores: `?` placeholders, no dialect differences. The records stay and
 * still list; only what a sender or a receiver said is gone, for good (no copy is kept).
 */

/** What an expunged attempt's response reads, as in Svix's server. */
export const EXPUNGED_RESPONSE = 'EXPUNGED';

/** The message's payload (text or foreign bytes) becomes `{}` and its passed-through provider headers go. */
export const EXPUNGE_MESSAGE = `UPDATE messages SET payload = '{}', payload_bytes = NULL, content_type = NULL, headers = NULL,
  expunged_at = COALESCE(expunged_at, ?) WHERE app_id = ? AND id = ?`;

/**
 * Its pending and failed deliveries are cancelled: sending `{}` under a valid signature (now, or
 * after an endpoint's recover re-queues failed ones) would tell the receiver something that never
 * happened (Svix's worker skips a message without payload). Both read as `fail` on the wire.
 */
export const CANCEL_PENDING_OF_MESSAGE = `UPDATE deliveries SET status = 'cancelled', locked_until = 0,
  locked_by = NULL, updated_at = ? WHERE app_id = ? AND msg_id = ? AND status IN ('pending', 'failed')`;

/** The request log's copy of a provider's body for that message (accepted and duplicates). */
export const EXPUNGE_INBOUND_BODIES = `UPDATE inbound_requests SET body = '', body_bytes = NULL WHERE msg_id = ?
  AND source_id IN (SELECT id FROM sources WHERE app_id = ?)`;

export const EXPUNGE_ATTEMPT = `UPDATE attempts SET response = '${EXPUNGED_RESPONSE}', response_bytes = NULL
  WHERE app_id = ? AND msg_id = ? AND id = ?`;
