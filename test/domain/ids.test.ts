import { describe, expect, it } from 'vitest';
import { type IdPrefix, newId } from '../../src/domain/ids.js';

// newId keeps module-level clock state, so each test below works in a later window of future time
// than the one before it (tests in a file run in order).
const PREFIXES: IdPrefix[] = ['app', 'ep', 'msg', 'atmpt', 'dlv', 'qtask'];

describe('newId', () => {
  it.each(PREFIXES)('makes %s ids with the prefix and a fixed-width base62 body', (prefix) => {
    const id = newId(prefix);
    expect(id).toMatch(new RegExp(`^${prefix}_[0-9A-Za-z]{22}$`));
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
