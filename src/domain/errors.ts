import { MAX_JSON_DEPTH } from './json-depth.js';
import { ALLOW_NETWORKS_HINT } from './ssrf.js';

/**
 * Every error the API can answer with, defined once: a stable machine-readable code, an HTTP
 * status and a sentence for people. Routes throw `ApiError`; one handler turns it into
 * `{code, detail}` (the Svix error shape).
 *
 * A 422 is Svix's HTTPValidationError: `detail` is a list of `{loc, msg, type}`, never a
 * sentence (the SDKs parse it as that list). So every 422 here names where the problem is (`loc`,
 * e.g. `['body', 'url']`) and its kind (`type`); ERRORS does not compile without them.
 */
const DEFINITIONS = {
  unauthorized: { status: 401, detail: 'Missing or invalid authentication token.' },
  forbidden: { status: 403, detail: 'This token may not perform this operation.' },
  not_app_token: {
    status: 403,
    detail: 'Only app tokens can be logged out; the admin token is set by configuration.',
  },
  not_found: { status: 404, detail: 'The requested resource was not found.' },
  app_not_found: { status: 404, detail: 'Application not found.' },
  endpoint_not_found: { status: 404, detail: 'Endpoint not found.' },
  message_not_found: { status: 404, detail: 'Message not found.' },
  attempt_not_found: { status: 404, detail: 'Message attempt not found.' },
  event_type_not_found: { status: 404, detail: 'Event type not found.' },
  source_not_found: { status: 404, detail: 'Source not found.' },
  inbound_not_found: { status: 404, detail: 'Inbound request not found.' },
  invalid_signature: { status: 401, detail: 'The request signature could not be verified.' },
  unsupported_source_type: {
    status: 422,
    detail: 'This source type is not supported.',
    loc: ['body', 'type'],
    type: 'value_error.source_type',
  },
  missing_source_secret: {
    status: 422,
    detail: 'This source type needs config.secret to verify requests.',
    loc: ['body', 'config', 'secret'],
    type: 'value_error.missing',
  },
  missing_payload: {
    status: 400,
    detail: "The message's content was expunged: it cannot be sent again.",
  },
  not_supported: { status: 501, detail: 'Hookgate does not offer this operation.' },
  not_replayable: { status: 409, detail: 'A rejected request was never accepted and cannot be replayed.' },
  conflict: { status: 409, detail: 'A resource with this identifier already exists.' },
  idempotency_conflict: {
    status: 409,
    detail: 'Another request with this Idempotency-Key is still in progress; retry it later.',
  },
  payload_too_large: { status: 413, detail: 'The request body is larger than the configured limit.' },
  unsupported_media_type: { status: 415, detail: 'The request body must be application/json.' },
  invalid_json: { status: 400, detail: 'The request body is not valid JSON.' },
  json_too_deep: {
    status: 422,
    detail: `The request body nests arrays or objects more than ${MAX_JSON_DEPTH} levels deep.`,
    loc: ['body'],
    type: 'value_error.json.depth',
  },
  bad_request: { status: 400, detail: 'The request is malformed.' },
  header_too_large: {
    status: 431,
    detail: 'The request line and headers are larger than the server accepts.',
  },
  request_timeout: { status: 408, detail: 'The request was not received in time.' },
  expectation_failed: { status: 417, detail: 'Only "Expect: 100-continue" is supported.' },
  shutting_down: { status: 503, detail: 'This server is shutting down; retry the request.' },
  validation: { status: 422, detail: 'The request is invalid.', loc: ['body'], type: 'value_error' },
  invalid_url: {
    status: 422,
    detail: 'The endpoint URL must be an absolute http(s) URL.',
    loc: ['body', 'url'],
    type: 'value_error.url',
  },
  url_not_allowed: {
    status: 422,
    detail: `The endpoint URL points to a private, loopback or otherwise reserved address. ${ALLOW_NETWORKS_HINT}`,
    loc: ['body', 'url'],
    type: 'value_error.url.not_allowed',
  },
  invalid_secret: {
    status: 422,
    detail: 'The secret must be base64 of 24 to 64 bytes, optionally prefixed with whsec_.',
    loc: ['body', 'secret'],
    type: 'value_error.secret',
  },
  reserved_header: {
    status: 422,
    detail: 'This header is set by Hookgate and cannot be overridden.',
    loc: ['body', 'headers'],
    type: 'value_error.header.reserved',
  },
  invalid_header: {
    status: 422,
    detail: 'Header names must be tokens and values may not contain CR or LF.',
    loc: ['body', 'headers'],
    type: 'value_error.header',
  },
  // Storage faults (see the store's health): 503, so clients and load balancers try again or
  // elsewhere, and `retryAfterSeconds` becomes the Retry-After header (RFC 9110 §10.2.3).
  database_unavailable: {
    status: 503,
    detail: 'The database is unavailable; nothing was stored. Try again shortly.',
    retryAfterSeconds: 5,
  },
  storage_full: {
    status: 503,
    detail: 'Storage is full; nothing was stored. Try again once space is freed.',
    retryAfterSeconds: 30,
  },
  storage_lost: {
    status: 503,
    detail:
      'The database file was removed or replaced while the server ran; nothing more is accepted until an operator restores it.',
  },
  storage_failed: {
    status: 503,
    detail:
      'A write to disk failed and the server is restarting; the request may have been stored: retry it with the same idempotency key.',
    retryAfterSeconds: 5,
  },
  storage_read_only: {
    status: 503,
    detail:
      'The database refuses writes (a read-only file, directory or mount, or a database role without write rights); nothing was stored. An operator must make it writable.',
    retryAfterSeconds: 30,
  },
  internal: { status: 500, detail: 'Internal server error.' },
} as const satisfies Record<string, ErrorDefinition>;

interface ErrorDefinition {
  readonly status: number;
  readonly detail: string;
  /** Where in the request the problem is (422 only): `['body', 'url']`, `['query', 'iterator']`. */
  readonly loc?: readonly string[];
  /** The kind of problem (422 only), as in Svix: `value_error.url`. */
  readonly type?: string;
  /** Sent as Retry-After (RFC 9110 §10.2.3): how long a client should wait before trying again. */
  readonly retryAfterSeconds?: number;
}

/** A definition whose status is 422 must say where and what (the HTTPValidationError shape). */
type Checked<T extends Record<string, ErrorDefinition>> = {
  readonly [K in keyof T]: T[K]['status'] extends 422
    ? T[K] & { readonly loc: readonly string[]; readonly type: string }
    : T[K];
};

export const ERRORS: Checked<typeof DEFINITIONS> = DEFINITIONS;

export type ErrorCode = keyof typeof ERRORS;

/** Svix's ValidationError item: one problem in a 422's `detail` list. */
export interface ValidationIssue {
  loc: string[];
  msg: string;
  type: string;
}

export class ApiError extends Error {
  readonly status: number;
  /** For a 422: the issue its `detail` lists; null for every other status. */
  readonly issue: ValidationIssue | null;
  /** `loc` overrides the definition's location (e.g. `['body', 'headers', name]`). */
  constructor(
    readonly code: ErrorCode,
    detail?: string,
    loc?: readonly string[],
    options?: ErrorOptions,
  ) {
    const def: ErrorDefinition = ERRORS[code];
    super(detail ?? def.detail, options);
    this.status = def.status;
    this.issue =
      def.status === 422
        ? { loc: [...(loc ?? def.loc ?? ['body'])], msg: this.message, type: def.type ?? 'value_error' }
        : null;
  }

  /** The response body: `{code, detail}`, with a 422's detail the list of its issues. */
  body(): { code: ErrorCode; detail: string | ValidationIssue[] } {
    return { code: this.code, detail: this.issue ? [this.issue] : this.message };
  }
}

/** How long a client should wait before trying again after `code`, in seconds; null: no advice. */
export function retryAfterSeconds(code: ErrorCode): number | null {
  const error: ErrorDefinition = ERRORS[code];
  return error.retryAfterSeconds ?? null;
}

/** Normalises anything thrown into an Error, so callers can log and branch on one type. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}
