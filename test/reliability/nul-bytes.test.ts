/**
 * A receiver may answer anything: a NUL, bytes that are not UTF-8. Its answer is recorded as an
 * attempt readable through the API, and neither it nor the healthy endpoints whose outcomes are
 * recorded beside it are sent anything twice (PostgreSQL's text refused the NUL, the whole batch
 * of outcomes was dropped and every delivery in it re-sent at each lease, forever).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/** "a", NUL, "b", then two bytes that are not UTF-8. */
const HOSTILE_ANSWER = Buffer.from([0x61, 0x00, 0x62, 0xff, 0xfe]);
const MESSAGES = 5;

interface AttemptJson {
  response: string;
  responseStatusCode: number;
}

describe.each(STORES)('receivers answering NUL and bytes that are not UTF-8 (%s)', (store) => {
  let hg: TestHookgate;
  const receivers: Receiver[] = [];
  afterEach(async () => {
    await hg?.destroy();
    for (const r of receivers.splice(0)) await r.close();
  });

  const attemptsOf = async (appId: string, endpointId: string) => {
    const res = await fetch(`${hg.url}/api/v1/app/${appId}/attempt/endpoint/${endpointId}?limit=50`, {
      headers: { authorization: `Bearer ${hg.adminToken}` },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: AttemptJson[] }).data;
  };

  it('records the answer, readable through the API, and sends nothing twice to it or to healthy endpoints', async () => {
    hg = await startTestHookgate({ store });
    const hostile = await startReceiver(() => ({ status: 200, body: HOSTILE_ANSWER }));
    const healthy = await startReceiver(() => ({ status: 200, body: 'ok' }));
    receivers.push(hostile, healthy);
    const app = await hg.svix.application.create({ name: 'bytes' });
    const hostileEp = await hg.svix.endpoint.create(app.id, { url: hostile.url });
    const healthyEp = await hg.svix.endpoint.create(app.id, { url: healthy.url });
    for (let i = 0; i < MESSAGES; i++)
      await hg.svix.message.create(app.id, { eventType: 'bytes.sent', payload: { i } });

    const answered = await eventually(async () => {
      const attempts = await attemptsOf(app.id, hostileEp.id);
      return attempts.length === MESSAGES ? attempts : null;
    });
    // Svix's `response` is a string: the NUL survives (JSON escapes it), the invalid bytes read as U+FFFD.
    for (const a of answered)
      expect(a).toMatchObject({ responseStatusCode: 200, response: 'a\u0000b\uFFFD\uFFFD' });
    await eventually(async () => (await attemptsOf(app.id, healthyEp.id)).length === MESSAGES);
    // Longer than the retry schedule (1 s in tests): an unrecorded success would have come again.
    await new Promise((r) => setTimeout(r, 2500));
    expect(hostile.requests).toHaveLength(MESSAGES);
    expect(healthy.requests).toHaveLength(MESSAGES);
    expect(await attemptsOf(app.id, hostileEp.id)).toHaveLength(MESSAGES);
    expect(await attemptsOf(app.id, healthyEp.id)).toHaveLength(MESSAGES);
  });
});
