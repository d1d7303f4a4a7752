/**
 * The load generator, run as its own process (as API clients would be). It runs one command at
 * a time and reports its result; every loop is bounded by a count and a deadline.
 */
import { createHmac } from 'node:crypto';
import { Agent, request } from 'undici';
import {
  type LoadCommand,
  type LoadEvent,
  messageBody,
  type PacedResult,
  type PublishResult,
  type PublishTarget,
  payloadJson,
  type RawResult,
  wallNow,
} from './protocol.js';

const send = (event: LoadEvent) => process.send?.(event);

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

async function raw(c: Extract<LoadCommand, { cmd: 'raw' }>): Promise<RawResult> {
  const agent = new Agent({ connections: c.concurrency, keepAliveTimeout: 60_000 });
  const started = wallNow();
  const countFrom = started + c.warmupMs;
  const end = started + c.warmupMs + c.durationMs;
  let completed = 0;
  let sent = 0;
  let errors = 0;
  const headers = { 'content-type': 'application/json' };
  async function worker(): Promise<void> {
    while (wallNow() < end) {
      try {
        sent++;
        const res = await request(c.url, { method: 'POST', headers, body: c.body, dispatcher: agent });
        await res.body.dump();
        if (wallNow() >= countFrom) {
          if (res.statusCode === 200) completed++;
          else errors++;
        }
      } catch {
        errors++;
      }
    }
  }
  await Promise.all(Array.from({ length: c.concurrency }, worker));
  await agent.close();
  return { kind: 'raw', rate: completed / (c.durationMs / 1000), completed, sent, errors };
}

function publisher(t: PublishTarget, connections: number) {
  const agent = new Agent({ connections, keepAliveTimeout: 60_000 });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${t.token}` };
  const urls = t.apps.map((app) => `${t.base}/api/v1/app/${app}/msg?with_content=false`);
  const inbound = t.inbound;
  /** The request for message `i`: a publish, or a provider's signed delivery to an inbound source. */
  const build = (i: number): { url: string; headers: Record<string, string>; body: string } => {
    if (!inbound)
      return { url: urls[i % urls.length]!, headers, body: messageBody(i, t.payloadBytes, wallNow()) };
    const body = payloadJson(i, t.payloadBytes, wallNow());
    return {
      url: inbound.url,
      headers: {
        'content-type': 'application/json',
        'x-request-id': `${inbound.runId}-${i}`,
        'x-signature': createHmac('sha256', inbound.secret).update(body).digest('hex'),
      },
      body,
    };
  };
  return {
    agent,
    /** Sends message `i`; resolves to null on a 2xx, else to what went wrong. */
    async publish(i: number): Promise<string | null> {
      try {
        const req = build(i);
        const res = await request(req.url, {
          method: 'POST',
          headers: req.headers,
          body: req.body,
          dispatcher: agent,
        });
        if (res.statusCode >= 200 && res.statusCode < 300) {
          await res.body.dump();
          return null;
        }
        return `HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`;
      } catch (e) {
        return describe(e);
      }
    },
  };
}

async function publish(c: Extract<LoadCommand, { cmd: 'publish' }>): Promise<PublishResult> {
  const p = publisher(c.target, c.concurrency);
  const startedAt = wallNow();
  const deadline = startedAt + c.deadlineMs;
  let next = 0;
  let accepted = 0;
  let errors = 0;
  let firstError: string | null = null;
  async function worker(): Promise<void> {
    while (next < c.count && wallNow() < deadline) {
      const err = await p.publish(next++);
      if (err === null) accepted++;
      else {
        errors++;
        firstError ??= err;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(c.concurrency, c.count) }, worker));
  const finishedAt = wallNow();
  await p.agent.close();
  return { kind: 'publish', startedAt, finishedAt, accepted, errors, firstError };
}

async function paced(c: Extract<LoadCommand, { cmd: 'paced' }>): Promise<PacedResult> {
  const p = publisher(c.target, Math.min(c.maxOutstanding, 256));
  const warmup = Math.round((c.rate * c.warmupMs) / 1000);
  const total = warmup + Math.round((c.rate * c.durationMs) / 1000);
  const interval = 1000 / c.rate;
  const latencies: number[] = [];
  let accepted = 0;
  let errors = 0;
  let skipped = 0;
  let outstanding = 0;
  let firstError: string | null = null;
  let sent = 0;
  const t0 = wallNow();
  await new Promise<void>((resolve) => {
    const finish = () => {
      if (sent === total && outstanding === 0) resolve();
    };
    const fire = (i: number, scheduled: number) => {
      const measured = i >= warmup;
      if (outstanding >= c.maxOutstanding) {
        if (measured) skipped++;
        return;
      }
      outstanding++;
      p.publish(i).then((err) => {
        outstanding--;
        if (measured) {
          latencies.push(wallNow() - scheduled);
          if (err === null) accepted++;
          else {
            errors++;
            firstError ??= err;
          }
        }
        finish();
      });
    };
    const tick = () => {
      const due = Math.min(total, Math.floor((wallNow() - t0) / interval) + 1);
      while (sent < due) {
        fire(sent, t0 + sent * interval);
        sent++;
      }
      if (sent < total) setTimeout(tick, Math.max(0, Math.min(1, t0 + sent * interval - wallNow())));
      else finish();
    };
    tick();
  });
  const finishedAt = wallNow();
  await p.agent.close();
  return {
    kind: 'paced',
    startedAt: t0 + warmup * interval,
    finishedAt,
    sent: total,
    offered: total - warmup,
    accepted,
    errors,
    skipped,
    latencies,
    firstError,
  };
}

process.on('message', (c: LoadCommand) => {
  const run = c.cmd === 'raw' ? raw(c) : c.cmd === 'publish' ? publish(c) : paced(c);
  run.then(
    (result) => send({ type: 'done', result }),
    (e: unknown) => send({ type: 'done', error: describe(e) }),
  );
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
