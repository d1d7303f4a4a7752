import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, coerceError, ERRORS, type ErrorCode, retryAfterSeconds } from '../domain/errors.js';

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

/** Svix's 422 shape: `{code: "validation", detail: [{loc, msg, type}]}`. */
function validationBody(issues: AjvIssue[], context: string) {
  return {
    code: 'validation',
    detail: issues.map((issue) => {
      const path = issue.instancePath.split('/').filter(Boolean);
      const missing = issue.params?.missingProperty;
      if (typeof missing === 'string') path.push(missing);
      return {
        loc: [context, ...path],
        msg: issue.message ?? 'invalid value',
        type: `value_error.${issue.keyword}`,
      };
    }),
  };
}

/** The one place errors become responses; nothing else formats an error body. */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof ApiError) {
    const retryAfter = retryAfterSeconds(error.code);
    if (retryAfter !== null) reply.header('retry-after', String(retryAfter));
    // Not logged per request: a storage fault is logged once, when the store's health changes.
    reply.code(error.status).send({ code: error.code, detail: error.message });
    return;
  }
  if (error.validation) {
    const context = (error.validationContext ?? 'body').replace('querystring', 'query');
    reply.code(422).send(validationBody(error.validation as AjvIssue[], context));
    return;
  }
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (mapped) {
    reply.code(ERRORS[mapped].status).send({ code: mapped, detail: ERRORS[mapped].detail });
    return;
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    const code: ErrorCode = 'bad_request';
    reply.code(error.statusCode).send({ code, detail: error.message });
    return;
  }
  request.log.error({ err: coerceError(error) }, 'unhandled error');
  reply.code(500).send({ code: 'internal', detail: ERRORS.internal.detail });
}

export function notFoundHandler(_request: FastifyRequest, reply: FastifyReply): void {
  reply.code(404).send({ code: 'not_found', detail: ERRORS.not_found.detail });
}
