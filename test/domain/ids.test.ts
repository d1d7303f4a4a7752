import { describe, expect, it } from 'vitest';
import { hasPrefix, type IdPrefix, idFloorAt, newId } from '../../src/domain/ids.js';

// newId keeps module-level clock state, so each test below works in a later window of future time
// than the one before it (tests in a file run in order).
const PREFIXES: IdPrefix[] = ['app', 'ep', 'msg', 'atmpt', 'dlv', 'qtask'];

describe('newId', () => {
  it.each(PREFIXES)('makes %s ids with the prefix and a fixed-width base62 body', (prefix) => {
    const id = newId(prefix);
    expect(id).toMatch(new RegExp(`^${prefix}_[0-9A-Za-z]{22}$`));
    expect(hasPrefix(id, prefix)).toBe(true);
  });

  it('hasPrefix does not confuse one prefix with another', () => {
    expect(hasPrefix(newId('msg'), 'app')).toBe(false);
    expect(hasPrefix('epx_123', 'ep')).toBe(false);
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

describe('idFloorAt', () => {
  it('has the prefix and the same fixed width as real ids', () => {
    expect(idFloorAt('msg', Date.now())).toMatch(/^msg_[0-9A-Za-z]{22}$/);
  });

  it('sorts at or before every id made at or after that millisecond', () => {
    const ms = Date.now() + 100_000;
    const floor = idFloorAt('msg', ms);
    const ids = [newId('msg', ms), newId('msg', ms), newId('msg', ms + 1), newId('msg', ms + 60_000)];
    for (const id of ids) expect(floor <= id).toBe(true);
  });

  it('sorts after ids made at an earlier millisecond', () => {
    const earlierMs = Date.now() + 200_000;
    const earlier = newId('msg', earlierMs);
    expect(earlier < idFloorAt('msg', earlierMs + 1)).toBe(true);
    expect(idFloorAt('msg', earlierMs) <= earlier).toBe(true);
  });

  it('clamps negative times to the smallest id', () => {
    expect(idFloorAt('msg', -5)).toBe(idFloorAt('msg', 0));
    expect(idFloorAt('msg', 0)).toBe(`msg_${'0'.repeat(22)}`);
  });
});
