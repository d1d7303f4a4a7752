/**
 * How deeply a JSON document Hookgate looks into may nest arrays and objects, counting the
 * outermost one as level 1 (`{"payload": {}}` is 2 deep). Svix payloads are a few levels deep;
 * thousands of levels only serve to exhaust the stack of whatever walks the value recursively
 * (JSON.stringify throws "Maximum call stack size exceeded" at about 10,000 here).
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }

/**
 * Whether `text` nests arrays or objects more than `maxDepth` levels deep, found without
 * parsing it: one pass counting brackets outside strings, stopping at the first bracket past the
 * limit, so a refused document costs a few characters of work however long it is. Strings are
 * skipped with indexOf (a quote preceded by an odd number of backslashes is escaped), so long
 * text costs next to nothing. Text that is not JSON is judged the same way; the parser refuses
 * it afterwards.
 */
export function jsonDepthExceeds(text: string, maxDepth: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      if (i < 0) return false;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

/** Where the string opened at `open` ends, or -1 when it never does. */
function closingQuote(text: string, open: number): number {
  let i = open;
  for (;;) {
    i = text.indexOf('"', i + 1);
    if (i < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(i - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return i;
  }
}
