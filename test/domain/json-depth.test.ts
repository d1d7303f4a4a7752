import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../../src/domain/json-depth.js';

/** The nesting depth of a parsed value, counting the outermost array or object as 1. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Strings made of the characters a scanner could trip on. */
const TRICKY = ['[', ']', '{', '}', '"', '\\', '\\"', '\\\\', 'é', '\u2028', 'x', ':', ','];

function randomValue(next: () => number, depth: number): unknown {
  const roll = next();
  if (depth === 0 || roll < 0.3) {
    if (roll < 0.15) {
      return Array.from(
        { length: Math.floor(next() * 6) },
        () => TRICKY[Math.floor(next() * TRICKY.length)],
      ).join('');
    }
    return [1.5, -2, true, null, 0][Math.floor(next() * 5)];
  }
  const size = 1 + Math.floor(next() * 3);
  if (roll < 0.65) return Array.from({ length: size }, () => randomValue(next, depth - 1));
  return Object.fromEntries(
    Array.from({ length: size }, (_, i) => [
      `${TRICKY[i % TRICKY.length]}${i}`,
      randomValue(next, depth - 1),
    ]),
  );
}

describe('jsonDepthExceeds', () => {
  const nestedObjects = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
  const nestedArrays = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  it.each([
    ['objects', nestedObjects],
    ['arrays', nestedArrays],
  ])('allows %s nested up to the limit and refuses one level more', (_kind, nested) => {
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(jsonDepthExceeds(nested(3), 3)).toBe(false);
    expect(jsonDepthExceeds(nested(4), 3)).toBe(true);
  });

  it('counts depth, not the number of containers', () => {
    const wide = JSON.stringify({ items: Array.from({ length: 10_000 }, (_, i) => ({ id: i, tags: [i] })) });
    // object > items array > item object > tags array
    expect(jsonDepthExceeds(wide, 4)).toBe(false);
    expect(jsonDepthExceeds(wide, 3)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonDepthExceeds('{"a":"[[[[{{{{"}', 1)).toBe(false);
    expect(jsonDepthExceeds('{"a":"\\"[[[[\\""}', 1)).toBe(false);
    // An escaped backslash ends just before the quote: the quote closes the string.
    expect(jsonDepthExceeds('{"a":"x\\\\","b":[[]]}', 2)).toBe(true);
    expect(jsonDepthExceeds('{"a":"x\\\\","b":[[]]}', 3)).toBe(false);
    expect(jsonDepthExceeds('{"[[[":"]]]","b":[]}', 2)).toBe(false);
  });

  it('refuses 10,000 and 450,000 levels', () => {
    expect(jsonDepthExceeds(nestedArrays(10_000))).toBe(true);
    expect(jsonDepthExceeds(`{"payload":{"a":${nestedArrays(450_000)}}}`)).toBe(true);
  });

  it('agrees with the depth of the parsed value for generated documents', () => {
    const next = random(15);
    for (let n = 0; n < 500; n++) {
      const value = randomValue(next, 1 + Math.floor(next() * 8));
      const text = JSON.stringify(value);
      const depth = depthOf(JSON.parse(text));
      expect(jsonDepthExceeds(text, depth), text).toBe(false);
      if (depth > 0) expect(jsonDepthExceeds(text, depth - 1), text).toBe(true);
    }
  });

  it('judges text that is not JSON without throwing (the parser refuses it afterwards)', () => {
    expect(jsonDepthExceeds('{"unterminated: [[[[[', 1)).toBe(false);
    expect(jsonDepthExceeds(']]]]{', 1)).toBe(false);
    expect(jsonDepthExceeds('', 1)).toBe(false);
  });
});
