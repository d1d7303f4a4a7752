import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/cli/config.js';

describe('HOOKGATE_SENDER_THREAD', () => {
  it('is on or off when told, and auto means SQLite on a machine with more than one core', () => {
    expect(parseConfig({ senderThread: 'on' }).senderThread).toBe(true);
    expect(parseConfig({ senderThread: 'off' }).senderThread).toBe(false);
    expect(parseConfig({}).senderThread).toBe(availableParallelism() > 1);
    expect(parseConfig({ senderThread: 'auto', databaseUrl: 'postgres://h/db' }).senderThread).toBe(false);
    expect(parseConfig({ senderThread: 'on', databaseUrl: 'postgres://h/db' }).senderThread).toBe(true);
  });

  it('refuses anything else', () => {
    expect(() => parseConfig({ senderThread: 'yes' })).toThrow(
      'HOOKGATE_SENDER_THREAD must be auto, on or off, got "yes"',
    );
  });
});

describe('HOOKGATE_BREAKER_THRESHOLD and HOOKGATE_BREAKER_OPEN_SECONDS', () => {
  it('default to 5 failures and 30 s, doubling up to 10 minutes', () => {
    const { health } = parseConfig({});
    expect(health).toMatchObject({ openAfterFailures: 5, openBaseMs: 30_000, openMaxMs: 600_000 });
  });

  it('set the threshold (0: breaker off) and the open time, the doubling cap never below it', () => {
    expect(parseConfig({ breakerThreshold: '0' }).health.openAfterFailures).toBe(0);
    expect(parseConfig({ breakerThreshold: '12' }).health.openAfterFailures).toBe(12);
    expect(parseConfig({ breakerOpenSeconds: '2.5' }).health).toMatchObject({
      openBaseMs: 2500,
      openMaxMs: 600_000,
    });
    expect(parseConfig({ breakerOpenSeconds: '3600' }).health).toMatchObject({
      openBaseMs: 3_600_000,
      openMaxMs: 3_600_000,
    });
  });

  it('refuse what is not a count or a duration', () => {
    expect(() => parseConfig({ breakerThreshold: '-1' })).toThrow('HOOKGATE_BREAKER_THRESHOLD');
    expect(() => parseConfig({ breakerThreshold: '2.5' })).toThrow('HOOKGATE_BREAKER_THRESHOLD');
    expect(() => parseConfig({ breakerThreshold: 'x' })).toThrow('HOOKGATE_BREAKER_THRESHOLD');
    expect(() => parseConfig({ breakerOpenSeconds: '0' })).toThrow('HOOKGATE_BREAKER_OPEN_SECONDS');
    expect(() => parseConfig({ breakerOpenSeconds: 'soon' })).toThrow('HOOKGATE_BREAKER_OPEN_SECONDS');
  });

  // The open time becomes circuit_open_until, a BIGINT of milliseconds: PostgreSQL refused a
  // fraction ("1700000000000.1") or 1e+303, every outcome opening a circuit failed to record,
  // and the endpoint's failing deliveries were sent again forever.
  it('keep the open time a whole number of milliseconds within a year, refusing what is not', () => {
    expect(parseConfig({ breakerOpenSeconds: '0.0015' }).health.openBaseMs).toBe(2);
    expect(Number.isInteger(parseConfig({ breakerOpenSeconds: '1.0001' }).health.openBaseMs)).toBe(true);
    expect(() => parseConfig({ breakerOpenSeconds: '0.0001' })).toThrow('HOOKGATE_BREAKER_OPEN_SECONDS');
    expect(() => parseConfig({ breakerOpenSeconds: '1e300' })).toThrow('HOOKGATE_BREAKER_OPEN_SECONDS');
    expect(parseConfig({ breakerOpenSeconds: String(365 * 24 * 3600) }).health.openBaseMs).toBe(
      365 * 24 * 3600 * 1000,
    );
  });
});
