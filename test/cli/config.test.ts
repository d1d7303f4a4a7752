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
