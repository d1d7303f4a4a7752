import { newId } from '../domain/ids.js';
import type { Attempt } from '../domain/model.js';
import {
  type DeliveryControl,
  type DeliveryNext,
  isSuccessStatus,
  nextAfterAttempt,
  parseDeliveryControl,
  parseRetryAfter,
} from '../domain/retry.js';
import { parseSecret, signatureHeader } from '../domain/signing.js';
import type { ClaimedDelivery } from '../store/store.js';
import type { LostSend, Sender, SendResult } from './sender.js';

const USER_AGENT = 'Hookgate/0.1';

/** One attempt made: the record to store and what becomes of the delivery. */
export interface AttemptMade {
  attempt: Attempt;
  /** 1-based number of the attempt in its delivery's current retry cycle. */
  attemptNumber: number;
  next: DeliveryNext;
  /** The receiver's `webhook-delivery` instruction, if it gave one. */
  control: DeliveryControl | null;
}

/** Distinct secrets remembered decoded; past this the memory starts over. */
const SECRET_CACHE_SIZE = 10_000;
const decodedSecrets = new Map<string, Buffer | null>();

/** A secret's key bytes, decoded once rather than on every attempt. */
function secretKey(secret: string): Buffer | null {
  let key = decodedSecrets.get(secret);
  if (key === undefined) {
    key = parseSecret(secret);
    if (decodedSecrets.size >= SECRET_CACHE_SIZE) decodedSecrets.clear();
    decodedSecrets.set(secret, key);
  }
  return key;
}

/**
 * Standard Webhooks headers, repeated under Svix's `svix-*` names: receivers written against
 * hosted Svix that read those headers by hand keep working when pointed at Hookgate.
 */
function signedHeaders(id: string, timestamp: string, signature: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': signature,
    'svix-id': id,
    'svix-timestamp': timestamp,
    'svix-signature': signature,
  };
}

/**
 * Signs and sends one delivery (webhook-id = the message id, one `v1,` signature per valid
 * secret), then decides from the answer what becomes of it. Never throws: a network failure is
 * an attempt with status 0. A send the sender lost (LostSend) is returned as it is: no attempt
 * is known to have been made, and the caller decides what to do with it.
 */
export async function makeAttempt(
  sender: Sender,
  retrySchedule: readonly number[],
  d: ClaimedDelivery,
): Promise<AttemptMade | LostSend> {
  const timestamp = Math.floor(Date.now() / 1000);
  const secrets = d.secrets.map(secretKey).filter((s): s is Buffer => s !== null);
  const startedAt = Date.now();
  const result = await sender.send({
    url: d.url,
    body: d.payload,
    headers: {
      ...d.headers,
      'content-type': d.contentType,
      'user-agent': USER_AGENT,
      ...signedHeaders(d.msgId, String(timestamp), signatureHeader(secrets, d.msgId, timestamp, d.payload)),
    },
  });
  return 'lost' in result ? result : attemptFrom(retrySchedule, d, startedAt, result);
}

/** The attempt a send's result makes (started at `startedAt`): its record and what becomes of the delivery. */
export function attemptFrom(
  retrySchedule: readonly number[],
  d: ClaimedDelivery,
  startedAt: number,
  result: SendResult,
): AttemptMade {
  const attempt: Attempt = {
    id: newId('atmpt', startedAt),
    appId: d.appId,
    msgId: d.msgId,
    endpointId: d.endpointId,
    url: d.url,
    responseStatusCode: result.statusCode,
    response: result.response,
    durationMs: result.durationMs,
    succeeded: isSuccessStatus(result.statusCode),
    trigger: d.trigger,
    createdAt: startedAt,
  };
  const now = Date.now();
  const attemptNumber = d.attemptsMade + 1;
  const control = parseDeliveryControl(result.deliveryControl);
  const next = nextAfterAttempt(
    retrySchedule,
    attemptNumber,
    { statusCode: result.statusCode, retryAfterSeconds: parseRetryAfter(result.retryAfter, now), control },
    now,
  );
  return { attempt, attemptNumber, next, control };
}
