import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/cli/config.js';
import { startHookgate } from '../../src/cli/server.js';
import {
  eventually,
  startTestHookgate,
  type TestHookgate,
  tempDir,
  testConfig,
} from '../helpers/hookgate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/** One sample of Prometheus' text format: `name{labels} value`, by the text before the value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return samples(await res.text());
}

describe('HOOKGATE_METRICS_PORT and HOOKGATE_METRICS_HOST', () => {
  it('are off by default; a port (0 picks a free one) on 127.0.0.1 unless told; refused when not a port', () => {
    expect(parseConfig({}).metrics).toBeNull();
    expect(parseConfig({ metricsPort: '0' }).metrics).toEqual({ port: 0, host: '127.0.0.1' });
    // The API may listen everywhere while the metrics, which have no token, stay local.
    expect(parseConfig({ host: '0.0.0.0', metricsPort: '9464' }).metrics).toEqual({
      port: 9464,
      host: '127.0.0.1',
    });
    expect(parseConfig({ metricsPort: '9464', metricsHost: '10.0.0.5' }).metrics).toEqual({
      port: 9464,
      host: '10.0.0.5',
    });
    for (const bad of ['x', '-1', '70000', '1.5', ' ']) {
      expect(() => parseConfig({ metricsPort: bad })).toThrow(
        `HOOKGATE_METRICS_PORT must be 0–65535, got "${bad}"`,
      );
    }
  });

  it('PORT is a port too: an empty or non-decimal value is refused instead of meaning a free port', () => {
    for (const bad of ['', '1e3', '0x1f90', '8071.5']) {
      expect(() => parseConfig({ port: bad })).toThrow(`port must be 0–65535, got "${bad}"`);
    }
    expect(parseConfig({ port: '0' }).port).toBe(0);
  });
});

describe('metrics', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function setup(respond: Receiver['respond']) {
    const hg: TestHookgate = await startTestHookgate({
      metrics: { port: 0, host: '127.0.0.1' },
      retrySchedule: [60],
    });
    cleanup.push(() => hg.destroy());
    const receiver = await startReceiver(respond);
    cleanup.push(() => receiver.close());
    return { hg, receiver, metrics: hg.metricsUrl! };
  }

  it('counts claims, attempts by result and outcome writes, and times them', async () => {
    const { hg, receiver, metrics } = await setup((req) =>
      req.url.endsWith('/fail') ? { status: 500 } : { status: 200 },
    );
    expect(metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const before = await scrape(metrics);
    expect(before.get('hookgate_attempts_total{result="succeeded"}')).toBe(0);
    expect(before.get('hookgate_attempts_total{result="failed"}')).toBe(0);

    const ok = await hg.svix.application.create({ name: 'ok' });
    await hg.svix.endpoint.create(ok.id, { url: `${receiver.url}/ok` });
    const failing = await hg.svix.application.create({ name: 'failing' });
    await hg.svix.endpoint.create(failing.id, { url: `${receiver.url}/fail` });
    for (let i = 0; i < 3; i++) await hg.svix.message.create(ok.id, { eventType: 'e', payload: { i } });
    await hg.svix.message.create(failing.id, { eventType: 'e', payload: {} });
    await receiver.waitFor(4);

    // The receiver counts a request before it answers: wait for every answer to be recorded.
    const after = await eventually(async () => {
      const m = await scrape(metrics);
      return m.get('hookgate_attempt_duration_seconds_count') === 4 &&
        m.get('hookgate_outcome_write_duration_seconds_count')! >= 1
        ? m
        : null;
    });
    expect(after.get('hookgate_attempts_total{result="succeeded"}')).toBe(3);
    expect(after.get('hookgate_attempts_total{result="failed"}')).toBe(1);
    expect(after.get('hookgate_claimed_deliveries_total')).toBe(4);
    // Claims that leased something are timed; the idle polls between them are only counted.
    const claims = after.get('hookgate_claim_duration_seconds_count')!;
    expect(claims).toBeGreaterThanOrEqual(1);
    expect(claims).toBeLessThanOrEqual(4);
    expect(after.get('hookgate_claim_duration_seconds_sum')).toBeGreaterThan(0);
    expect(after.get('hookgate_empty_claims_total')).toBeGreaterThanOrEqual(1);
    expect(after.get('hookgate_claim_duration_seconds_bucket{le="+Inf"}')).toBe(
      after.get('hookgate_claim_duration_seconds_count'),
    );
    expect(after.get('hookgate_outcome_write_failures_total')).toBe(0);
    expect(after.get('hookgate_attempts_in_flight')).toBe(0);
    // Node's own: CPU, memory, event loop delay.
    expect(after.get('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(after.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
  });

  it('shows attempts in flight while a receiver takes its time', async () => {
    const { hg, receiver, metrics } = await setup(() => ({ status: 200, delayMs: 3000 }));
    const app = await hg.svix.application.create({ name: 'slow' });
    await hg.svix.endpoint.create(app.id, { url: receiver.url });
    await hg.svix.message.create(app.id, { eventType: 'e', payload: {} });
    await receiver.waitFor(1);
    expect((await scrape(metrics)).get('hookgate_attempts_in_flight')).toBe(1);
    await eventually(async () => (await scrape(metrics)).get('hookgate_attempts_in_flight') === 0);
  });

  it('answers other paths 404 and other methods 405, with a code', async () => {
    const { metrics } = await setup(() => ({ status: 200 }));
    const other = await fetch(metrics.replace('/metrics', '/'));
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ code: 'not_found', detail: 'Metrics are served at /metrics.' });
    const post = await fetch(metrics, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(await post.json()).toMatchObject({ code: 'method_not_allowed' });
  });

  it('serves nothing unless asked to', async () => {
    const hg = await startTestHookgate();
    cleanup.push(() => hg.destroy());
    expect(hg.metricsUrl).toBeNull();
  });

  it('fails to start when its port is taken, before a generated admin token is stored unseen', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => taken.close(() => r())));
    const port = (taken.address() as AddressInfo).port;
    const dir = tempDir();
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const config = testConfig(join(dir, 'hookgate.db'), {
      adminToken: null,
      metrics: { port, host: '127.0.0.1' },
    });
    await expect(startHookgate(config)).rejects.toThrow(/EADDRINUSE/);
    // The next start, with the port free, still generates (and prints) a token.
    const hg = await startHookgate({ ...config, metrics: { port: 0, host: '127.0.0.1' } });
    cleanup.push(() => hg.stop(2000));
    expect(hg.generatedAdminToken).toMatch(/^hgsk_/);
  });
});
