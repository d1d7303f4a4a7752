import { describe, expect, it } from 'vitest';
import type { App, Attempt, Endpoint } from '../../src/domain/model.js';
import {
  attemptEvent,
  endpointDisabledEvent,
  endpointEnabledEvent,
  eventsForAttempt,
  FAILING_AFTER_ATTEMPTS,
  type RecordedAttempt,
} from '../../src/domain/operational.js';

const failed = (
  attemptNumber: number,
  next: RecordedAttempt['next'] = 'retry',
  endpointDisabled = next === 'failed_and_disable_endpoint',
): RecordedAttempt => ({
  attemptNumber,
  succeeded: false,
  next,
  control: null,
  endpointDisabled,
});

describe('eventsForAttempt', () => {
  it('raises nothing for a first-time success or an early failure', () => {
    expect(
      eventsForAttempt({
        attemptNumber: 1,
        succeeded: true,
        next: 'succeeded',
        control: null,
        endpointDisabled: false,
      }),
    ).toEqual([]);
    for (let n = 1; n < FAILING_AFTER_ATTEMPTS; n++) expect(eventsForAttempt(failed(n))).toEqual([]);
    expect(eventsForAttempt(failed(FAILING_AFTER_ATTEMPTS + 1))).toEqual([]);
  });

  it('raises message.attempt.failing on the 4th failure, and only then', () => {
    expect(FAILING_AFTER_ATTEMPTS).toBe(4);
    expect(eventsForAttempt(failed(4))).toEqual(['message.attempt.failing']);
  });

  it('raises message.attempt.exhausted when a failure uses up the schedule', () => {
    expect(eventsForAttempt(failed(2, 'failed'))).toEqual(['message.attempt.exhausted']);
    expect(eventsForAttempt(failed(8, 'failed'))).toEqual(['message.attempt.exhausted']);
    // A schedule of four attempts: the 4th failure is both.
    expect(eventsForAttempt(failed(4, 'failed'))).toEqual([
      'message.attempt.failing',
      'message.attempt.exhausted',
    ]);
  });

  it('raises message.attempt.recovered on a success after a failing event was sent', () => {
    expect(
      eventsForAttempt({
        attemptNumber: 5,
        succeeded: true,
        next: 'succeeded',
        control: null,
        endpointDisabled: false,
      }),
    ).toEqual(['message.attempt.recovered']);
    expect(
      eventsForAttempt({
        attemptNumber: 4,
        succeeded: true,
        next: 'succeeded',
        control: null,
        endpointDisabled: false,
      }),
    ).toEqual([]);
  });

  it('raises endpoint.disabled for a success that disabled the endpoint, beside recovered', () => {
    const success = (attemptNumber: number, endpointDisabled: boolean): RecordedAttempt => ({
      attemptNumber,
      succeeded: true,
      next: 'succeeded_and_disable_endpoint',
      control: 'disable',
      endpointDisabled,
    });
    expect(eventsForAttempt(success(1, true))).toEqual(['endpoint.disabled']);
    expect(eventsForAttempt(success(5, true))).toEqual(['endpoint.disabled', 'message.attempt.recovered']);
    // Already disabled by an earlier answer: this one disabled nothing.
    expect(eventsForAttempt(success(1, false))).toEqual([]);
  });

  it('raises endpoint.disabled when the answer disabled the endpoint, whatever the attempt number', () => {
    for (const n of [1, 4, 8])
      expect(eventsForAttempt(failed(n, 'failed_and_disable_endpoint'))).toEqual(['endpoint.disabled']);
  });

  it('raises endpoint.disabled when failing for too long disabled the endpoint', () => {
    expect(eventsForAttempt(failed(3, 'retry', true))).toEqual(['endpoint.disabled']);
    expect(eventsForAttempt(failed(2, 'failed', true))).toEqual([
      'endpoint.disabled',
      'message.attempt.exhausted',
    ]);
  });

  it('raises nothing for a 410 whose endpoint another attempt had disabled already', () => {
    expect(eventsForAttempt(failed(1, 'failed_and_disable_endpoint', false))).toEqual([]);
  });

  it('raises nothing when the receiver aborted the message itself', () => {
    expect(
      eventsForAttempt({
        attemptNumber: 4,
        succeeded: false,
        next: 'failed',
        control: 'abort-message',
        endpointDisabled: false,
      }),
    ).toEqual([]);
  });
});

describe('operational event payloads (Svix shapes)', () => {
  const app: App = {
    id: 'app_1',
    uid: 'acme',
    name: 'Acme',
    metadata: {},
    rateLimit: null,
    createdAt: 0,
    updatedAt: 0,
  };
  const endpoint = { id: 'ep_1', uid: null, failingSince: null } as Endpoint;
  const attempt = {
    id: 'atmpt_1',
    msgId: 'msg_1',
    endpointId: 'ep_1',
    responseStatusCode: 503,
    createdAt: Date.UTC(2025, 0, 2, 3, 4, 5, 678),
  } as Attempt;

  it('says since when an automatically disabled endpoint had been failing', () => {
    const failing = { ...endpoint, failingSince: Date.UTC(2025, 0, 1) };
    expect(endpointDisabledEvent(app, failing, 'automatic').data.failSince).toBe('2025-01-01T00:00:00.000Z');
  });

  it('shapes endpoint.disabled and endpoint.enabled', () => {
    expect(endpointDisabledEvent(app, endpoint, 'automatic')).toEqual({
      type: 'endpoint.disabled',
      data: {
        appId: 'app_1',
        appUid: 'acme',
        endpointId: 'ep_1',
        endpointUid: null,
        failSince: null,
        trigger: 'automatic',
      },
    });
    expect(endpointEnabledEvent(app, endpoint)).toEqual({
      type: 'endpoint.enabled',
      data: { appId: 'app_1', appUid: 'acme', endpointId: 'ep_1', endpointUid: null },
    });
  });

  it('shapes message.attempt.* with the last attempt', () => {
    expect(attemptEvent('message.attempt.exhausted', app, 'evt-9', attempt)).toEqual({
      type: 'message.attempt.exhausted',
      data: {
        appId: 'app_1',
        appUid: 'acme',
        endpointId: 'ep_1',
        msgId: 'msg_1',
        msgEventId: 'evt-9',
        lastAttempt: { id: 'atmpt_1', responseStatusCode: 503, timestamp: '2025-01-02T03:04:05.678Z' },
      },
    });
  });
});
