import { isUtf8 } from 'node:buffer';
import { type Body, bodyBytes } from '../domain/body.js';

/**
 * How foreign content is kept, the same way on both stores. PostgreSQL's text refuses a NUL
 * character (and bytes that are not UTF-8), SQLite's takes them: a body that text cannot hold
 * goes to the `bytea`/BLOB column beside its text column, the text column then left empty.
 * Text that PostgreSQL can hold (every JSON publish, nearly every answer) stays in the text
 * column as before, so the common case costs nothing more and rows written before the bytes
 * columns existed read the same.
 */

/** The (text, bytes) column values for a body. */
export function bodyColumns(body: Body): [text: string, bytes: Buffer | null] {
  if (typeof body === 'string') return body.includes('\0') ? ['', bodyBytes(body)] : [body, null];
  const bytes = bodyBytes(body);
  return isUtf8(bytes) && !bytes.includes(0) ? [bytes.toString('utf8'), null] : ['', bytes];
}

/** The body a (text, bytes) column pair holds; bytes read back are always bytes, never text. */
export function bodyFromColumns(text: string, bytes: Uint8Array | null | undefined): Body {
  return bytes === null || bytes === undefined ? text : bodyBytes(bytes);
}

/**
 * Short text a foreign party chooses that the store keeps as text (a provider's delivery id, a
 * rejection reason): a NUL, which PostgreSQL's text refuses, becomes U+FFFD on both stores. Lossy,
 * as these are labels, not content; content goes through bodyColumns. API callers' text is
 * refused with 422 instead (http/nul-guard.ts).
 */
export function storableText(text: string): string;
export function storableText(text: string | null): string | null;
export function storableText(text: string | null): string | null {
  return text === null || !text.includes('\0') ? text : text.replaceAll('\0', '\uFFFD');
}
