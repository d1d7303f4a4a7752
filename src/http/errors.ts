import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  ApiError,
  coerceError,
  ERRORS,
  type ErrorCode,
  retryAfterSeconds,
  type ValidationIssue,
} from '../domain/errors.js';

/** Fastify's own error codes, mapped to ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
};

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Svix's 422 issues (`{loc, msg, type}`) from the schema validator's. */
function validationIssues(issues: AjvIssue[], context: string): ValidationIssue[] {
  return issues.map((issue) => {
    const path = issue.instancePath.split('/').filter(Boolean);
    const missing = issue.params?.missingProperty;
    if (typeof missing === 'string') path.push(missing);
    return {
      loc: [context, ...path],
      msg: issue.message ?? 'invalid value',
      type: `value_error.${issue.keyword}`,
    };
  });
}

/**
 * Sends `{code, detail}`. A 422 always carries Svix's HTTPValidationError list, whoever raised it:
 * a bare sentence becomes one issue located at the request as a whole.
 */
function sendError(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string | ValidationIssue[],
): void {
  const body =
    status === 422 && typeof detail === 'string'
      ? { code, detail: [{ loc: ['body'], msg: detail, type: 'value_error' }] }
      : { code, detail };
  reply.code(status).send(body);
}

/** The one place errors become responses; nothing else formats an error body. */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof ApiError) {
    const retryAfter = retryAfterSeconds(error.code);
    if (retryAfter !== null) reply.header('retry-after', String(retryAfter));
    // Not logged per request: a storage fault is logged once, when the store's health changes.
    const { code, detail } = error.body();
    sendError(reply, error.status, code, detail);
    return;
  }
  if (error.validation) {
    const context = (error.validationContext ?? 'body').replace('querystring', 'query');
    sendError(reply, 422, 'validation', validationIssues(error.validation as AjvIssue[], context));
    return;
  }
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (mapped) {
    sendError(reply, ERRORS[mapped].status, mapped, ERRORS[mapped].detail);
    return;
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    const code: ErrorCode = 'bad_request';
    sendError(reply, error.statusCode, code, error.message);
    return;
  }
  request.log.error({ err: coerceError(error) }, 'unhandled error');
  sendError(reply, 500, 'internal', ERRORS.internal.detail);
}

export function notFoundHandler(_request: FastifyRequest, reply: FastifyReply): void {
  sendError(reply, 404, 'not_found', ERRORS.not_found.detail);
}
