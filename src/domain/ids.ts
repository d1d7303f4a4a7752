import { randomBytes } from 'node:crypto';

/** Prefixes of every id Hookgate hands out, as in the Svix API. */
export type IdPrefix = 'app' | 'ep' | 'msg' | 'atmpt' | 'dlv' | 'qtask' | 'src' | 'log';

// Base62 in ASCII order, so ids sort bytewise in the order they were made: lists page by id.
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 22; // 62^22 > 2^128

let lastMs = 0;
let lastRandom = 0n;

/**
 * A KSUID-like id: 48 bits of milliseconds then 80 random bits, base62-encoded at fixed width.
 * Within one millisecond the random part is incremented, so ids made by one process are strictly
 * increasing (monotonic), which keeps cursor pagination exact.
 */
export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  let random: bigint;
  if (nowMs <= lastMs) {
    nowMs = lastMs;
    random = lastRandom + 1n;
  } else {
    random = BigInt(`0x${randomBytes(10).toString('hex')}`) >> 1n; // headroom for increments
  }
  lastMs = nowMs;
  lastRandom = random;
  const value = (BigInt(nowMs) << 80n) | random;
  return `${prefix}_${encodeBase62(value)}`;
}

function encodeBase62(value: bigint): string {
  let out = '';
  for (let i = 0; i < BODY_LENGTH; i++) {
    out = ALPHABET[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out;
}
