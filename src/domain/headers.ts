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
// RFC 9110 §5.5: a field value is visible characters, spaces and tabs. CR and LF would split
// the request; other control characters make the HTTP client refuse every delivery.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export type HeaderProblem = { kind: 'invalid_header' | 'reserved_header'; name: string };

export function checkCustomHeaders(headers: Record<string, string | null>): HeaderProblem | null {
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name) || (value !== null && !FIELD_VALUE.test(value))) {
      return { kind: 'invalid_header', name };
    }
    // Names differing only in case are one header: both would be sent, merged.
    if (seen.has(name.toLowerCase())) return { kind: 'invalid_header', name };
    seen.add(name.toLowerCase());
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
