import { describe, expect, it } from 'vitest';
import { canonicalLogId, encodeBase62, type IdPrefix, idPattern, newId } from '../../src/domain/ids.js';

// newId keeps module-level clock state, so each test below works in a later window of future time
// than the one before it (tests in a file run in order).
const PREFIXES: IdPrefix[] = ['app', 'msg', 'atmpt', 'dlv', 'qtask', 'src'];

describe('newId', () => {
  it.each(PREFIXES)('makes %s ids with the prefix and a fixed-width base62 body', (prefix) => {
    const id = newId(prefix);
    expect(id).toMatch(new RegExp(`^${prefix}_[0-9A-Za-z]{22}$`));
    expect(id).toMatch(new RegExp(`^${idPattern(prefix)}$`));
  });

  // Svix Ingest's IngestEndpointOut.id and IngestLogOut.id patterns (svix-ingest-openapi.json).
  it('makes endpoint ids of 27 digits and log ids without an underscore, as the ingest spec says', () => {
    const ep = newId('ep');
    const log = newId('log');
    expect(ep).toMatch(/^ep_[A-Za-z0-9]{27}$/);
    expect(log).toMatch(/^log[A-Za-z0-9]{21,22}$/);
    expect(ep).toMatch(new RegExp(`^${idPattern('ep')}$`));
    expect(log).toMatch(new RegExp(`^${idPattern('log')}$`));
  });

  it('sorts new endpoint ids after the 22-digit ones made earlier, and reads old log ids', () => {
    const old = 'ep_0358AhEZz3csO7t0YnedDw';
    expect(old).toMatch(new RegExp(`^${idPattern('ep')}$`));
    expect(newId('ep') > old).toBe(true);
    expect(canonicalLogId('log_0358AhEZz3csO7t0YnedDw')).toBe('log0358AhEZz3csO7t0YnedDw');
    expect(canonicalLogId('log0358AhEZz3csO7t0YnedDw')).toBe('log0358AhEZz3csO7t0YnedDw');
  });

  it('makes strictly increasing ids in a tight loop of 10000', () => {
    const ids = Array.from({ length: 10_000 }, () => newId('msg'));
    for (let i = 1; i < ids.length; i++) {
      expect(ids[i]! > ids[i - 1]!).toBe(true);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('stays strictly increasing when the clock stands still or steps back', () => {
    const now = Date.now() + 10_000;
    const a = newId('msg', now);
    const b = newId('msg', now);
    const c = newId('msg', now - 5_000);
    const d = newId('msg', now + 1);
    expect(a < b).toBe(true);
    expect(b < c).toBe(true);
    expect(c < d).toBe(true);
  });

  it('orders ids by creation time, bytewise, across milliseconds', () => {
    const base = Date.now() + 20_000;
    const ids = [0, 1, 2, 1000, 60_000].map((offset) => newId('msg', base + offset));
    expect([...ids].sort()).toEqual(ids);
  });
});

/** The 128-bit value of an id's base62 body. */
function idValue(id: string): bigint {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let value = 0n;
  for (const c of id.slice(id.indexOf('_') + 1)) value = value * 62n + BigInt(alphabet.indexOf(c));
  return value;
}

describe('newId layout', () => {
  // Ids already stored were made with this layout: new ones must sort among them by time.
  it('holds the milliseconds in the top 48 bits and 79 random bits below them', () => {
    const base = Date.now() + 2 ** 31; // past the windows of the tests above
    for (const ms of [base, base + 1, base + 2 ** 20, base + 2 ** 33 + 7]) {
      const value = idValue(newId('msg', ms));
      expect(value >> 80n).toBe(BigInt(ms));
      expect(value & ((1n << 80n) - 1n)).toBeLessThan(1n << 79n);
    }
  });

  it('adds exactly one within a millisecond, carrying across 16-bit boundaries', () => {
    const ms = Date.now() + 2 ** 34;
    let previous = idValue(newId('msg', ms));
    for (let i = 0; i < 70_000; i++) {
      const value = idValue(newId('msg', ms));
      expect(value - previous).toBe(1n);
      previous = value;
    }
  });

  it('draws a fresh random part each millisecond', () => {
    const ms = Date.now() + 2 ** 35;
    const randoms = new Set(
      Array.from({ length: 50 }, (_, i) => idValue(newId('msg', ms + i)) & ((1n << 80n) - 1n)),
    );
    expect(randoms.size).toBe(50);
  });
});

describe('encodeBase62', () => {
  const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  /** The BigInt encoding ids were first made with. */
  function reference(value: bigint): string {
    let out = '';
    for (let i = 0; i < 22; i++) {
      out = ALPHABET[Number(value % 62n)] + out;
      value /= 62n;
    }
    return out;
  }
  function limbsOf(value: bigint): Uint16Array {
    return Uint16Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(16 * (7 - i))) & 0xffffn));
  }

  it('matches the BigInt encoding at the edges: 0, all ones, powers of 62 and their neighbours', () => {
    const values = [0n, 1n, (1n << 128n) - 1n, (1n << 80n) - 1n, 1n << 80n, (1n << 127n) + 12345n];
    for (let k = 1n; k <= 21n; k++) values.push(62n ** k - 1n, 62n ** k, 62n ** k + 1n);
    for (const value of values) expect(encodeBase62(limbsOf(value))).toBe(reference(value));
  });

  it('matches it on 10,000 random values', () => {
    for (let i = 0; i < 10_000; i++) {
      const bytes = Array.from({ length: 16 }, () => BigInt(Math.floor(Math.random() * 256)));
      const value = bytes.reduce((v, b) => (v << 8n) | b, 0n);
      expect(encodeBase62(limbsOf(value))).toBe(reference(value));
    }
  });
});
