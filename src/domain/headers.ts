/**
 * Rules for the custom headers an endpoint may add to its deliveries.
 * Headers Hookgate sets itself, hop-by-hop headers (RFC 9110 §7.6.1) and framing headers could
 * forge a signature or desynchronise the connection, so they are refused.
 */
const RESERVED_EXACT = new Set([
  'host',
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'user-agent',
]);
const RESERVED_PREFIXES = ['webhook-', 'svix-', 'proxy-', 'x-hookgate-'];

// RFC 9110 §5.6.2: a field name is a token.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Field values may not carry CR, LF or NUL (RFC 9110 §5.5): they would split the request.
const FORBIDDEN_VALUE_CHARS = /[\r\n\0]/;

export type HeaderProblem = { kind: 'invalid_header' | 'reserved_header'; name: string };

export function checkCustomHeaders(headers: Record<string, string | null>): HeaderProblem | null {
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name) || (value !== null && FORBIDDEN_VALUE_CHARS.test(value))) {
      return { kind: 'invalid_header', name };
    }
    const lower = name.toLowerCase();
    if (RESERVED_EXACT.has(lower) || RESERVED_PREFIXES.some((p) => lower.startsWith(p))) {
      return { kind: 'reserved_header', name };
    }
  }
  return null;
}

const SENSITIVE = /^(authorization|proxy-authorization|cookie)$|token|secret|api-?key|password/i;

/** Headers whose values the API does not echo back (Svix's `sensitive` list). */
export function isSensitiveHeader(name: string): boolean {
  return SENSITIVE.test(name);
}
