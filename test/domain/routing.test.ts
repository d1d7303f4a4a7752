import { describe, expect, it } from 'vitest';
import { type EndpointFilter, endpointWants } from '../../src/domain/routing.js';

function endpoint(overrides: Partial<EndpointFilter> = {}): EndpointFilter {
  return { disabled: false, eventTypes: null, channels: null, ...overrides };
}

describe('endpointWants: event type filter', () => {
  it('an endpoint without an event type filter gets every event type', () => {
    expect(endpointWants(endpoint(), 'invoice.paid', null)).toBe(true);
    expect(endpointWants(endpoint(), 'user.created', null)).toBe(true);
  });

  it('an endpoint with an event type filter gets only the listed types', () => {
    const ep = endpoint({ eventTypes: ['invoice.paid', 'invoice.failed'] });
    expect(endpointWants(ep, 'invoice.paid', null)).toBe(true);
    expect(endpointWants(ep, 'invoice.failed', null)).toBe(true);
    expect(endpointWants(ep, 'user.created', null)).toBe(false);
  });

  it('matches event types exactly, not by prefix or case', () => {
    const ep = endpoint({ eventTypes: ['invoice.paid'] });
    expect(endpointWants(ep, 'invoice', null)).toBe(false);
    expect(endpointWants(ep, 'invoice.paid.late', null)).toBe(false);
    expect(endpointWants(ep, 'Invoice.Paid', null)).toBe(false);
  });
});

describe('endpointWants: channel filter', () => {
  it('an endpoint without a channel filter gets messages with or without channels', () => {
    expect(endpointWants(endpoint(), 'a', null)).toBe(true);
    expect(endpointWants(endpoint(), 'a', ['eu'])).toBe(true);
    expect(endpointWants(endpoint(), 'a', [])).toBe(true);
  });

  it('an endpoint with channels gets a message sharing at least one channel', () => {
    const ep = endpoint({ channels: ['eu', 'project_1'] });
    expect(endpointWants(ep, 'a', ['eu'])).toBe(true);
    expect(endpointWants(ep, 'a', ['us', 'project_1'])).toBe(true);
  });

  it('an endpoint with channels does not get a message sharing none of them', () => {
    const ep = endpoint({ channels: ['eu'] });
    expect(endpointWants(ep, 'a', ['us'])).toBe(false);
    expect(endpointWants(ep, 'a', ['EU'])).toBe(false);
  });

  it('a message without channels does not reach a channel-filtered endpoint', () => {
    const ep = endpoint({ channels: ['eu'] });
    expect(endpointWants(ep, 'a', null)).toBe(false);
    expect(endpointWants(ep, 'a', [])).toBe(false);
  });

  it('needs both the event type and the channel to match', () => {
    const ep = endpoint({ eventTypes: ['invoice.paid'], channels: ['eu'] });
    expect(endpointWants(ep, 'invoice.paid', ['eu'])).toBe(true);
    expect(endpointWants(ep, 'invoice.paid', ['us'])).toBe(false);
    expect(endpointWants(ep, 'user.created', ['eu'])).toBe(false);
  });
});

describe('endpointWants: disabled endpoints', () => {
  it('a disabled endpoint gets nothing, whatever its filters', () => {
    expect(endpointWants(endpoint({ disabled: true }), 'invoice.paid', null)).toBe(false);
    expect(endpointWants(endpoint({ disabled: true }), 'invoice.paid', ['eu'])).toBe(false);
    const filtered = endpoint({ disabled: true, eventTypes: ['invoice.paid'], channels: ['eu'] });
    expect(endpointWants(filtered, 'invoice.paid', ['eu'])).toBe(false);
  });
});
