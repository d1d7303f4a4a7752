import { randomFillSync } from 'node:crypto';

/** Prefixes of every id Hookgate hands out, as in the Svix API. */
export type IdPrefix = 'app' | 'ep' | 'msg' | 'atmpt' | 'dlv' | 'qtask' | 'src' | 'log';

// Base62 in ASCII order, so ids sort bytewise in the order they were made: lists page by id.
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DIGIT_CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));
const BODY_LENGTH = 22; // 62^22 > 2^128

/**
 * The last id's 128 bits as eight 16-bit limbs, most significant first: limbs 0–2 hold the
 * milliseconds (48 bits), limbs 3–7 the random part (80 bits). Plain numbers rather than a
 * BigInt: one id is made per message and per attempt, and BigInt arithmetic allocated about 2 KB
 * per id (measured in the drain's allocation profile).
 */
const limbs = new Uint16Array(8);
const RANDOM_FROM = 3;
/** Scratch copy divided down while encoding, and the digits it yields. */
const quotient = new Uint16Array(8);
const digits: number[] = new Array(BODY_LENGTH).fill(0);

let lastMs = 0;

/**
 * How an id of each prefix is spelled, where the Svix specs fix it. Svix Ingest's endpoint ids
 * are `^ep_[A-Za-z0-9]{27}$` and its request-log ids `^log[A-Za-z0-9]{21,22}$` (no underscore).
 * Endpoint ids get five more random digits after the usual 22, so they still sort by time and
 * after the 22-digit ids made before; log ids drop the underscore (a migration renamed the
 * stored ones, and `canonicalLogId` maps an old spelling to the new).
 */
const EXTRA_DIGITS: Partial<Record<IdPrefix, number>> = { ep: 5 };
const SEPARATOR: Partial<Record<IdPrefix, string>> = { log: '' };

/**
 * A KSUID-like id: 48 bits of milliseconds then 80 random bits, base62-encoded at fixed width.
 * Within one millisecond the random part is incremented, so ids made by one process are strictly
 * increasing (monotonic), which keeps cursor pagination exact.
 */
export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  const body = newIdBody(nowMs);
  const extra = EXTRA_DIGITS[prefix] ?? 0;
  return `${prefix}${SEPARATOR[prefix] ?? '_'}${extra > 0 ? body + randomDigits(extra) : body}`;
}

/**
 * Every spelling of a stored id with this prefix, as a regular expression source (no anchors):
 * what an iterator of a list keyed by such ids may be.
 */
export function idPattern(prefix: IdPrefix): string {
  if (prefix === 'ep') return `ep_[0-9A-Za-z]{${BODY_LENGTH}}(?:[0-9A-Za-z]{${EXTRA_DIGITS.ep}})?`;
  if (prefix === 'log') return `log_?[0-9A-Za-z]{${BODY_LENGTH}}`;
  return `${prefix}_[0-9A-Za-z]{${BODY_LENGTH}}`;
}

/** A request-log id as stored, from either spelling (`log_…` was used before the ingest spec's `log…`). */
export function canonicalLogId(id: string): string {
  return id.startsWith('log_') ? `log${id.slice(4)}` : id;
}

function randomDigits(n: number): string {
  const bytes = new Uint8Array(n);
  randomFillSync(bytes);
  // A byte mod 62 is slightly biased, which does not matter for digits that only add uniqueness.
  return Array.from(bytes, (b) => ALPHABET[b % 62]).join('');
}

function newIdBody(nowMs: number): string {
  if (nowMs <= lastMs) {
    incrementRandom();
  } else {
    lastMs = nowMs;
    limbs[0] = Math.floor(nowMs / 2 ** 32);
    limbs[1] = nowMs >>> 16;
    limbs[2] = nowMs;
    randomFillSync(limbs, RANDOM_FROM);
    halveRandom(); // headroom for increments
  }
  return encodeBase62(limbs);
}

function incrementRandom(): void {
  for (let i = limbs.length - 1; i >= RANDOM_FROM; i--) {
    limbs[i] = limbs[i]! + 1;
    if (limbs[i] !== 0) return; // no carry
  }
}

/** Shifts the random part right by one bit, least significant limb first. */
function halveRandom(): void {
  for (let i = limbs.length - 1; i >= RANDOM_FROM; i--) {
    const carryIn = i > RANDOM_FROM ? (limbs[i - 1]! & 1) << 15 : 0;
    limbs[i] = (limbs[i]! >>> 1) | carryIn;
  }
}

/** 62^5: the most base62 digits one division pass yields while every step stays an exact double. */
const CHUNK = 62 ** 5;
const CHUNK_DIGITS = 5;

/**
 * Base62 of a 128-bit value given as eight 16-bit limbs, most significant first, at the id's
 * fixed width: long division of the limbs by 62^5 yields five digits a pass (a remainder times
 * 2^16 stays below 2^46, exact in a double). Exported for its tests.
 */
export function encodeBase62(value: Uint16Array): string {
  quotient.set(value);
  let d = BODY_LENGTH;
  while (d > 0) {
    let remainder = 0;
    for (let i = 0; i < quotient.length; i++) {
      const current = remainder * 0x10000 + quotient[i]!;
      const q = Math.floor(current / CHUNK);
      quotient[i] = q;
      remainder = current - q * CHUNK;
    }
    for (let k = 0; k < CHUNK_DIGITS && d > 0; k++) {
      const next = Math.floor(remainder / 62);
      digits[--d] = DIGIT_CODES[remainder - next * 62]!;
      remainder = next;
    }
  }
  return String.fromCharCode.apply(null, digits);
}
