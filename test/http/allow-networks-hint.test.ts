/**
 * A newcomer's first endpoint is usually on their own machine, which the SSRF guard refuses.
 * Both refusals (saving the URL, connecting to a name that resolves to loopback) name the
 * setting that allows it, with a value to copy, instead of a bare "reserved address".
 *
 * Nothing here dials anything: `localhost` is resolved (from /etc/hosts) and refused before any
 * socket opens, which is what is under test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, STORES, startTestHookgate, type TestHookgate } from '../helpers/hookgate.js';

interface Issue {
  loc: string[];
  msg: string;
  type: string;
}

const SETTING_AND_VALUE = 'HOOKGATE_ALLOW_NETWORKS=127.0.0.0/8,::1/128';

describe.each(STORES)('the SSRF refusal names the setting that allows it (%s)', (store) => {
  let hg: TestHookgate;
  afterEach(async () => {
    await hg?.destroy();
  });

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${hg.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${hg.adminToken}`, 'content-type': 'application/json' },
    });

  it('answers a loopback endpoint URL 422 with HOOKGATE_ALLOW_NETWORKS and --dev in the issue', async () => {
    hg = await startTestHookgate({ store, allowNetworks: [] });
    const app = await hg.svix.application.create({ name: 'hint' });
    const res = await api(`/api/v1/app/${app.id}/endpoint`, {
      method: 'POST',
      body: JSON.stringify({ url: 'http://127.0.0.1:3000/webhooks' }),
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { code: string; detail: Issue[] };
    expect(body.code).toBe('url_not_allowed');
    expect(body.detail).toHaveLength(1);
    expect(body.detail[0]!.loc).toEqual(['body', 'url']);
    expect(body.detail[0]!.msg).toContain(SETTING_AND_VALUE);
    expect(body.detail[0]!.msg).toContain('--allow-networks');
    expect(body.detail[0]!.msg).toContain('hookgate serve --dev');
    // Refused, so nothing was saved.
    const list = await hg.svix.endpoint.list(app.id);
    expect(list.data).toHaveLength(0);
  });

  it('records a delivery refused at connect time with the setting in the attempt', async () => {
    hg = await startTestHookgate({ store, allowNetworks: [] });
    const app = await hg.svix.application.create({ name: 'hint' });
    // A name passes when saved; it is judged once resolved, when the attempt connects.
    const ep = await hg.svix.endpoint.create(app.id, { url: 'http://localhost:9/webhooks' });
    await hg.svix.message.create(app.id, { eventType: 'hint.sent', payload: { n: 1 } });
    const attempt = await eventually(async () => {
      const res = await api(`/api/v1/app/${app.id}/attempt/endpoint/${ep.id}`);
      const { data } = (await res.json()) as {
        data: Array<{ response: string; responseStatusCode: number }>;
      };
      return data[0];
    });
    expect(attempt.responseStatusCode).toBe(0);
    expect(attempt.response).toContain('refused to connect to localhost');
    expect(attempt.response).toContain(SETTING_AND_VALUE);
  });
});
