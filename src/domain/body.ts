import { isUtf8 } from 'node:buffer';

/**
 * Content that came from outside as bytes: a provider's request body, a receiver's answer, a
 * message payload. Text when it is valid UTF-8, otherwise the bytes themselves, so nothing a
 * provider or receiver sends is altered on its way through Hookgate. (Bytes cross a worker
 * thread as a plain Uint8Array, hence not Buffer.)
 */
export type Body = string | Uint8Array;

/** The body as bytes, exactly (text as UTF-8). */
export function bodyBytes(body: Body): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Bytes as text when they are valid UTF-8, else as they are: the canonical form of a Body. */
export function bodyOf(bytes: Uint8Array): Body {
  return isUtf8(bytes) ? bodyBytes(bytes).toString('utf8') : bytes;
}

/**
 * The body as text for people and JSON answers: bytes that are not UTF-8 decoded with U+FFFD in
 * place of each invalid sequence (the WHATWG decoder's rule). A NUL stays a NUL: JSON escapes it.
 */
export function bodyText(body: Body): string {
  return typeof body === 'string' ? body : bodyBytes(body).toString('utf8');
}

/** Whether two bodies carry the same bytes. */
export function sameBody(a: Body, b: Body): boolean {
  return bodyBytes(a).equals(bodyBytes(b));
}
