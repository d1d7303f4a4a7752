import type { FastifyInstance } from 'fastify';

/**
 * Body fields that are JSON documents, kept as JSON text, where a NUL is escaped (`\u0000`)
 * and harmless: a message payload, an event type's schemas.
 */
const DOCUMENT_FIELDS = new Set(['payload', 'schemas']);

interface NulIssue {
  instancePath: string;
  keyword: 'nul';
  message: string;
}

/**
 * Refuses, with 422 in the validation shape, any text an API caller gives that contains a NUL
 * character (U+0000): names, uids, URLs, descriptions, event type names, channels, tags,
 * metadata, header names and values, path and query parameters. PostgreSQL's text cannot hold
 * a NUL, so without this such input failed with 500 there while SQLite stored it; refusing it
 * on every store keeps them alike. Documents (DOCUMENT_FIELDS) may carry any JSON. Bytes from
 * providers and receivers are never refused: the stores keep them as bytes (store/bytes.ts).
 */
export function registerNulGuard(api: FastifyInstance): void {
  api.addHook('preValidation', async (request) => {
    const parts = [
      ['path', request.params],
      ['query', request.query],
      // A Buffer body is a provider's bytes (`/in/…`), not the caller's text.
      ['body', Buffer.isBuffer(request.body) ? undefined : request.body],
    ] as const;
    for (const [context, value] of parts) {
      const issues: NulIssue[] = [];
      findNul(value, '', context === 'body', issues);
      if (issues.length > 0) {
        throw Object.assign(new Error('text may not contain a NUL character'), {
          statusCode: 422,
          validation: issues,
          validationContext: context,
        });
      }
    }
  });
}

function findNul(value: unknown, path: string, isBody: boolean, issues: NulIssue[]): void {
  if (typeof value === 'string') {
    if (value.includes('\0'))
      issues.push({ instancePath: path, keyword: 'nul', message: 'must not contain a NUL character' });
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, inner] of Object.entries(value)) {
    if (isBody && path === '' && DOCUMENT_FIELDS.has(key)) continue;
    const at = `${path}/${key}`;
    if (key.includes('\0'))
      issues.push({ instancePath: at, keyword: 'nul', message: 'must not contain a NUL character' });
    findNul(inner, at, isBody, issues);
  }
}
