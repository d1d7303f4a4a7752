import { describe, expect, it } from 'vitest';
import { DEFAULT_HEALTH_POLICY, type HealthPolicy } from '../../src/domain/health.js';
import { newId } from '../../src/domain/ids.js';
import type { Attempt } from '../../src/domain/model.js';
import type {
  AttemptFilter,
  AttemptOutcome,
  EndpointInput,
  PageQuery,
  Store,
} from '../../src/store/store.js';

const NO_ATTEMPT_FILTER: AttemptFilter = {
  status: null,
  statusCodeClass: null,
  since: null,
  until: null,
  eventTypes: null,
  channel: null,
};
const FIRST_PAGE: PageQuery = { limit: 10, iterator: null, order: 'descending' };

/**
 * The store conformance suite: semantics every Store implementation must have, independent of
 * the database behind it. Each implementation's test file calls this with a factory that opens
 * a fresh, empty store.
 */
/** An endpoint's input with every optional setting at its default. */
export const endpointInput = (
  url: string,
  extra: Partial<EndpointInput> = {},
): EndpointInput & { secret: string } => ({
  url,
  uid: null,
  description: '',
  disabled: false,
  eventTypes: null,
  channels: null,
  metadata: {},
  rateLimit: null,
  secret: `whsec_${Buffer.alloc(32, 3).toString('base64')}`,
  ...extra,
});

export function describeStoreConformance(
  name: string,
  openStore: () => Promise<{ store: Store; close: () => Promise<void> }>,
) {
  describe(`${name} store conformance`, () => {
    const appInput = (name: string, uid: string | null = null) => ({
      name,
      uid,
      metadata: {},
      rateLimit: null,
    });
    const claim = (
      store: Store,
      leaseId: string,
      now: number,
      extra: Partial<Parameters<Store['claimDue']>[0]> = {},
    ) =>
      store.claimDue({
        leaseId,
        now,
        leaseUntil: now + 10_000,
        limit: 100,
        inFlightByEndpoint: new Map(),
        perEndpointLimit: 100,
        ...extra,
      });
    const record = (store: Store, outcomes: AttemptOutcome[], health: HealthPolicy = DEFAULT_HEALTH_POLICY) =>
      store.recordOutcomes(outcomes, health);
    const attempt = (
      d: { appId: string; msgId: string; endpointId: string },
      at: number,
      status: number,
    ): Attempt => ({
      id: newId('atmpt', at),
      appId: d.appId,
      msgId: d.msgId,
      endpointId: d.endpointId,
      url: 'http://127.0.0.1/',
      responseStatusCode: status,
      response: '',
      durationMs: 1,
      succeeded: status >= 200 && status < 300,
      trigger: 'scheduled',
      createdAt: at,
    });

    it('routes a message only to enabled endpoints whose filters match', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        const all = await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/all'));
        await store.createEndpoint(
          app.id,
          endpointInput('http://127.0.0.1/other', { eventTypes: ['other'] }),
        );
        await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/off', { disabled: true }));
        const eu = await store.createEndpoint(
          app.id,
          endpointInput('http://127.0.0.1/eu', { channels: ['eu'] }),
        );
        const now = Date.now();
        await store.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: ['eu'] }, now);
        const claimed = await claim(store, 'w1', now);
        expect(claimed.map((c) => c.endpointId).sort()).toEqual([all.id, eu.id].sort());
      } finally {
        await close();
      }
    });

    it('returns the first message for a repeated eventId and creates no deliveries for it', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
        const now = Date.now();
        const first = await store.publish(
          app.id,
          { eventType: 'x', eventId: 'e1', payload: '{"a":1}', channels: null },
          now,
        );
        const again = await store.publish(
          app.id,
          { eventType: 'x', eventId: 'e1', payload: '{"a":2}', channels: null },
          now,
        );
        expect(first.created).toBe(true);
        expect(again).toEqual({ message: first.message, created: false });
        expect(await claim(store, 'w', now)).toHaveLength(1);
      } finally {
        await close();
      }
    });

    it('answers publishes made together as if made one by one: the first of an eventId wins, routing per message', async () => {
      const { store, close } = await openStore();
      try {
        const a = await store.createApp(appInput('a'));
        const b = await store.createApp(appInput('b'));
        const aAll = await store.createEndpoint(a.id, endpointInput('http://127.0.0.1/a'));
        const aEu = await store.createEndpoint(
          a.id,
          endpointInput('http://127.0.0.1/a-eu', { channels: ['eu'] }),
        );
        const bOther = await store.createEndpoint(
          b.id,
          endpointInput('http://127.0.0.1/b', { eventTypes: ['other'] }),
        );
        const now = Date.now();
        const stored = await store.publish(
          a.id,
          { eventType: 'x', eventId: 'old', payload: '{}', channels: null },
          now,
        );
        await record(
          store,
          (await claim(store, 'w0', now)).map((d) => ({
            leaseId: 'w0',
            deliveryId: d.deliveryId,
            attempt: attempt(d, now, 200),
            next: { kind: 'succeeded' },
          })),
        );
        const input = (eventType: string, eventId: string | null, channels: string[] | null = null) => ({
          eventType,
          eventId,
          payload: `{"e":"${eventId}"}`,
          channels,
        });
        // Published in one turn: a repeat of a stored eventId, a new eventId twice, the same
        // eventId in another app, no eventId, and messages routed by channel and event type.
        const results = await Promise.all([
          store.publish(a.id, input('x', 'old'), now),
          store.publish(a.id, input('x', 'new', ['eu']), now),
          store.publish(a.id, input('x', 'new'), now),
          store.publish(b.id, input('other', 'new'), now),
          store.publish(a.id, input('x', null), now),
          store.publish(b.id, input('x', null), now),
        ]);
        expect(results.map((r) => r.created)).toEqual([false, true, false, true, true, true]);
        expect(results[0]!.message).toEqual(stored.message);
        expect(results[2]!.message).toEqual(results[1]!.message);
        expect(results[1]!.message.channels).toEqual(['eu']);
        expect(results[3]!.message.appId).toBe(b.id);
        expect(new Set(results.map((r) => r.message.id)).size).toBe(5);
        const due = await claim(store, 'w1', now);
        const routes = due.map((d) => `${d.msgId} ${d.endpointId}`).sort();
        expect(routes).toEqual(
          [
            `${results[1]!.message.id} ${aAll.id}`,
            `${results[1]!.message.id} ${aEu.id}`,
            `${results[3]!.message.id} ${bOther.id}`,
            `${results[4]!.message.id} ${aAll.id}`,
          ].sort(),
        );
      } finally {
        await close();
      }
    });

    it('commits concurrent publishes together, each durable and distinct', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
        const now = Date.now();
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            store.publish(
              app.id,
              { eventType: 'x', eventId: `e${i}`, payload: `{"i":${i}}`, channels: null },
              now,
            ),
          ),
        );
        expect(new Set(results.map((r) => r.message.id)).size).toBe(200);
        const page = await store.listMessages(
          app.id,
          { since: null, until: null, eventTypes: null, channel: null },
          { limit: 250, iterator: null, order: 'descending' },
        );
        expect(page.data).toHaveLength(200);
      } finally {
        await close();
      }
    });

    it('never leases a delivery to two workers within a lease, and hands it over when the lease runs out', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
        const now = Date.now();
        await store.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: null }, now);
        const [mine] = await claim(store, 'w1', now);
        expect(mine).toBeDefined();
        expect(await claim(store, 'w2', now + 9_999)).toEqual([]);
        const [taken] = await claim(store, 'w2', now + 10_000);
        expect(taken?.deliveryId).toBe(mine!.deliveryId);

        // The first worker's late result is recorded as an attempt but does not settle w2's lease.
        const outcome: AttemptOutcome = {
          leaseId: 'w1',
          deliveryId: mine!.deliveryId,
          attempt: attempt(mine!, now + 10_001, 200),
          next: { kind: 'succeeded' },
        };
        await record(store, [outcome]);
        expect(
          await store.endpointStats(app.id, mine!.endpointId, { since: null, until: null }),
        ).toMatchObject({
          success: 0,
          sending: 1,
        });
      } finally {
        await close();
      }
    });

    it('reschedules a retry, settles a success, and fails with the endpoint disabled after 410', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        const ep = await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
        const now = Date.now();
        await store.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: null }, now);
        const [d] = await claim(store, 'w', now);
        await record(store, [
          {
            leaseId: 'w',
            deliveryId: d!.deliveryId,
            attempt: attempt(d!, now, 500),
            next: { kind: 'retry', at: now + 5000 },
          },
        ]);
        expect(await store.nextWakeAt()).toBe(now + 5000);
        expect(await claim(store, 'w', now + 4999)).toEqual([]);
        const [again] = await claim(store, 'w', now + 5000);
        expect(again!.attemptsMade).toBe(1);
        await record(store, [
          {
            leaseId: 'w',
            deliveryId: again!.deliveryId,
            attempt: attempt(again!, now + 5000, 410),
            next: { kind: 'failed_and_disable_endpoint' },
          },
        ]);
        expect((await store.getEndpoint(app.id, ep.id))?.disabled).toBe(true);
        expect(await store.endpointStats(app.id, ep.id, { since: null, until: null })).toMatchObject({
          fail: 1,
        });
        const attempts = await store.listAttempts(
          app.id,
          { ...NO_ATTEMPT_FILTER, endpointId: ep.id },
          FIRST_PAGE,
        );
        expect(attempts.data.map((a) => a.responseStatusCode)).toEqual([410, 500]);
      } finally {
        await close();
      }
    });

    it('gives an endpoint no more leases than its free concurrency slots', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        const busy = await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/busy'));
        const now = Date.now();
        for (let i = 0; i < 10; i++) {
          await store.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: null }, now);
        }
        const claimed = await claim(store, 'w', now, {
          perEndpointLimit: 4,
          inFlightByEndpoint: new Map([[busy.id, 1]]),
        });
        expect(claimed).toHaveLength(3);
        expect(
          await claim(store, 'w', now, { perEndpointLimit: 4, inFlightByEndpoint: new Map([[busy.id, 4]]) }),
        ).toEqual([]);
      } finally {
        await close();
      }
    });

    it('pages forwards and backwards with cursors, without gaps or overlaps', async () => {
      const { store, close } = await openStore();
      try {
        const ids: string[] = [];
        for (let i = 0; i < 7; i++) ids.push((await store.createApp(appInput(`app${i}`))).id);
        const seen: string[] = [];
        let iterator: string | null = null;
        for (;;) {
          const page = await store.listApps({ limit: 3, iterator, order: 'ascending' });
          seen.push(...page.data.map((a) => a.id));
          if (page.done) break;
          iterator = page.iterator;
        }
        expect(seen).toEqual(ids);
        const last = await store.listApps({ limit: 3, iterator: ids[5]!, order: 'ascending' });
        const back = await store.listApps({ limit: 3, iterator: last.prevIterator, order: 'ascending' });
        expect(back.data.map((a) => a.id)).toEqual(ids.slice(3, 6));
      } finally {
        await close();
      }
    });

    it('deletes an app with everything it owns and leaves other apps untouched', async () => {
      const { store, close } = await openStore();
      try {
        const doomed = await store.createApp(appInput('doomed', 'doomed'));
        const kept = await store.createApp(appInput('kept', 'kept'));
        const now = Date.now();
        for (const app of [doomed, kept]) {
          await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
          await store.publish(
            app.id,
            { eventType: 'x', eventId: 'same', payload: '{}', channels: null },
            now,
          );
        }
        // One attempt each, recorded with the delivery still due (as a retry): the delivery and
        // the attempt of the deleted app go with it, the other app's stay.
        const first = await claim(store, 'w0', now);
        await record(
          store,
          first.map((d) => ({
            leaseId: 'w0',
            deliveryId: d.deliveryId,
            attempt: attempt(d, now, 500),
            next: { kind: 'retry', at: now },
          })),
        );
        await store.deleteApp(doomed.id);
        expect(await store.getApp('doomed')).toBeNull();
        expect(await store.getMessage(doomed.id, 'same')).toBeNull();
        expect((await store.getApp('kept'))?.id).toBe(kept.id);
        expect(await store.getMessage(kept.id, 'same')).not.toBeNull();
        const attemptsOf = async (d: (typeof first)[number]) =>
          (await store.listAttempts(d.appId, { ...NO_ATTEMPT_FILTER, msgId: d.msgId }, FIRST_PAGE)).data;
        expect(await attemptsOf(first.find((d) => d.appId === doomed.id)!)).toEqual([]);
        expect(await attemptsOf(first.find((d) => d.appId === kept.id)!)).toHaveLength(1);
        const claimed = await claim(store, 'w', now);
        expect(claimed.map((c) => c.appId)).toEqual([kept.id]);
      } finally {
        await close();
      }
    });

    it('records no attempt for a delivery whose app was deleted while it ran, and the others of the batch', async () => {
      const { store, close } = await openStore();
      try {
        const doomed = await store.createApp(appInput('doomed'));
        const kept = await store.createApp(appInput('kept'));
        const now = Date.now();
        for (const app of [doomed, kept]) {
          await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
          await store.publish(app.id, { eventType: 'x', eventId: 'e', payload: '{}', channels: null }, now);
        }
        const claimed = await claim(store, 'w0', now);
        expect(claimed).toHaveLength(2);
        await store.deleteApp(doomed.id);
        await record(
          store,
          claimed.map((d) => ({
            leaseId: 'w0',
            deliveryId: d.deliveryId,
            attempt: attempt(d, now, 200),
            next: { kind: 'succeeded' },
          })),
        );
        const attemptsOf = async (d: (typeof claimed)[number]) =>
          (await store.listAttempts(d.appId, { ...NO_ATTEMPT_FILTER, msgId: d.msgId }, FIRST_PAGE)).data;
        expect(await attemptsOf(claimed.find((d) => d.appId === doomed.id)!)).toEqual([]);
        expect(await attemptsOf(claimed.find((d) => d.appId === kept.id)!)).toHaveLength(1);
      } finally {
        await close();
      }
    });

    it('answers app lookups by id and uid with the latest write: update, uid reuse, deletion', async () => {
      const { store, close } = await openStore();
      try {
        const a = await store.createApp(appInput('first', 'x'));
        // Looked up (and kept, where the store keeps lookups) by id and by uid.
        expect((await store.getApp('x'))?.name).toBe('first');
        expect((await store.getApp(a.id))?.name).toBe('first');
        await store.updateApp(a.id, { ...appInput('renamed', 'y') });
        expect(await store.getApp('x')).toBeNull();
        expect((await store.getApp('y'))?.name).toBe('renamed');
        expect((await store.getApp(a.id))?.uid).toBe('y');
        // The freed uid names another app now.
        const b = await store.createApp(appInput('second', 'x'));
        expect((await store.getApp('x'))?.id).toBe(b.id);
        await store.deleteApp(a.id);
        expect(await store.getApp(a.id)).toBeNull();
        expect(await store.getApp('y')).toBeNull();
        // A source carries an app of its own, gone with the source.
        const source = await store.createSource({
          name: 's',
          uid: null,
          type: 'generic',
          config: {},
          metadata: {},
          token: 'token',
        });
        expect((await store.getApp(source.appId))?.id).toBe(source.appId);
        await store.deleteSource(source.id);
        expect(await store.getApp(source.appId)).toBeNull();
      } finally {
        await close();
      }
    });

    it('answers look-ups made together each by its own key: apps by id or uid, tokens by hash', async () => {
      const { store, close } = await openStore();
      try {
        const a = await store.createApp(appInput('a', 'uid-a'));
        const b = await store.createApp(appInput('b', 'uid-b'));
        // A uid that is another app's id: the id wins, as it does for a single look-up.
        await store.createApp(appInput('c', a.id));
        const now = Date.now();
        await store.saveAppToken('ta', { appId: a.id, readOnly: false }, now + 60_000);
        await store.saveAppToken('tb', { appId: b.id, readOnly: true }, now + 60_000);
        await store.saveAppToken('old', { appId: a.id, readOnly: false }, now - 1);
        const apps = await Promise.all(
          [a.id, 'uid-b', 'missing', b.id, 'uid-a', a.id].map((k) => store.getApp(k)),
        );
        expect(apps.map((x) => x?.id ?? null)).toEqual([a.id, b.id, null, b.id, a.id, a.id]);
        const tokens = await Promise.all(['tb', 'old', 'nope', 'ta'].map((h) => store.findAppToken(h, now)));
        expect(tokens).toEqual([
          { appId: b.id, readOnly: true },
          null,
          null,
          { appId: a.id, readOnly: false },
        ]);
      } finally {
        await close();
      }
    });

    it('revokes one app token by its hash and leaves the others working', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('tokens', 'uid-tokens'));
        const now = Date.now();
        await store.saveAppToken('gone', { appId: app.id, readOnly: false }, now + 60_000);
        await store.saveAppToken('kept', { appId: app.id, readOnly: true }, now + 60_000);
        expect(await store.revokeAppToken('gone')).toBe(true);
        expect(await store.findAppToken('gone', now)).toBeNull();
        expect(await store.findAppToken('kept', now)).toEqual({ appId: app.id, readOnly: true });
        expect(await store.revokeAppToken('gone')).toBe(false);
        expect(await store.revokeAppToken('never')).toBe(false);
      } finally {
        await close();
      }
    });

    it('reserves an Idempotency-Key for exactly one of the requests asking together, per scope and key', async () => {
      const { store, close } = await openStore();
      try {
        const now = Date.now();
        const reserve = (scope: string, key: string, owner: string) =>
          store.reserveIdempotencyKey({ scope, key, owner }, now, now + 10_000);
        const states = await Promise.all([
          ...['a', 'b', 'c', 'd'].map((owner) => reserve('app_1 /a', 'k1', owner)),
          reserve('app_1 /a', 'k2', 'e'),
          reserve('app_2 /a', 'k1', 'f'),
        ]);
        const first = states.slice(0, 4).map((s) => s.state);
        expect(first.filter((s) => s === 'reserved')).toHaveLength(1);
        expect(first.filter((s) => s === 'in_progress')).toHaveLength(3);
        expect(states.slice(4)).toEqual([{ state: 'reserved' }, { state: 'reserved' }]);
        // And one at a time, through another store call each time.
        expect(await reserve('app_1 /a', 'k2', 'g')).toEqual({ state: 'in_progress' });
      } finally {
        await close();
      }
    });

    it('lets only the holder of a key store, renew or release it, and replays what it stored', async () => {
      const { store, close } = await openStore();
      try {
        const now = Date.now();
        const held = { scope: 'admin /x', key: 'k', owner: 'holder' };
        const other = { ...held, owner: 'other' };
        expect(await store.reserveIdempotencyKey(held, now, now + 10_000)).toEqual({ state: 'reserved' });
        expect(await store.finishIdempotencyKey(other, { statusCode: 201, body: 'theirs' })).toBe(false);
        expect(await store.renewIdempotencyKey(other, now + 60_000)).toBe(false);
        await store.releaseIdempotencyKey(other);
        expect(await store.reserveIdempotencyKey(other, now + 1, now + 10_000)).toEqual({
          state: 'in_progress',
        });
        expect(await store.renewIdempotencyKey(held, now + 20_000)).toBe(true);
        // Renewed: still held past the first lease.
        expect(await store.reserveIdempotencyKey(other, now + 15_000, now + 30_000)).toEqual({
          state: 'in_progress',
        });
        expect(await store.finishIdempotencyKey(held, { statusCode: 201, body: '{"id":"one"}' })).toBe(true);
        const replay = { state: 'finished', response: { statusCode: 201, body: '{"id":"one"}' } };
        expect(await store.reserveIdempotencyKey(other, now + 99_000, now + 99_000)).toEqual(replay);
        // A finished key is never released, renewed or stored again, by anyone.
        await store.releaseIdempotencyKey(held);
        expect(await store.finishIdempotencyKey(held, { statusCode: 201, body: 'again' })).toBe(false);
        expect(await store.renewIdempotencyKey(held, now + 99_000)).toBe(false);
        expect(await store.reserveIdempotencyKey(other, now, now)).toEqual(replay);
      } finally {
        await close();
      }
    });

    it('hands a released key or one whose lease ran out to exactly one of the requests waiting', async () => {
      const { store, close } = await openStore();
      try {
        const now = Date.now();
        const k = (owner: string) => ({ scope: 'admin /x', key: 'k', owner });
        await store.reserveIdempotencyKey(k('first'), now, now + 10_000);
        await store.releaseIdempotencyKey(k('first'));
        const retry = await Promise.all(
          ['w1', 'w2', 'w3'].map((o) => store.reserveIdempotencyKey(k(o), now + 1, now + 10_000)),
        );
        expect(retry.filter((s) => s.state === 'reserved')).toHaveLength(1);
        const holder = ['w1', 'w2', 'w3'][retry.findIndex((s) => s.state === 'reserved')]!;
        // The holder crashes: its lease runs out at now + 10 s and one waiter takes over.
        const late = await Promise.all(
          ['w4', 'w5'].map((o) => store.reserveIdempotencyKey(k(o), now + 10_000, now + 20_000)),
        );
        expect(late.filter((s) => s.state === 'reserved')).toHaveLength(1);
        // The old holder lost it: what it would store is refused.
        expect(await store.finishIdempotencyKey(k(holder), { statusCode: 200, body: 'late' })).toBe(false);
      } finally {
        await close();
      }
    });

    it("stores a keyed publish's response in the publish's commit, and publishes nothing for a lost key", async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
        const now = Date.now();
        const k = (key: string, owner = 'o') => ({ scope: `${app.id} /msg`, key, owner });
        const respond = (r: { message: { id: string }; created: boolean }) => ({
          statusCode: 202,
          body: `${r.message.id} ${r.created}`,
        });
        for (const key of ['k1', 'k2', 'k3', 'lost'])
          await store.reserveIdempotencyKey(k(key), now, now + 10);
        // 'lost' is taken over by another request after its lease ran out.
        await store.reserveIdempotencyKey(k('lost', 'thief'), now + 10, now + 10_000);
        const input = (eventId: string | null) => ({
          eventType: 'x',
          eventId,
          payload: '{}',
          channels: null,
        });
        const first = await store.publish(app.id, input('e1'), now);
        // Made together: keyed and unkeyed, an eventId already taken, and a lost key.
        const [a, b, c, d, lost] = await Promise.allSettled([
          store.publish(app.id, input(null), now, { key: k('k1'), respond }),
          store.publish(app.id, input(null), now),
          store.publish(app.id, input('e1'), now, { key: k('k2'), respond }),
          store.publish(app.id, input('e3'), now, { key: k('k3'), respond }),
          store.publish(app.id, input('e-lost'), now, { key: k('lost'), respond }),
        ]);
        const value = <T>(r: PromiseSettledResult<T>) => (r.status === 'fulfilled' ? r.value : null);
        expect(value(a)?.created).toBe(true);
        expect(value(b)?.created).toBe(true);
        expect(value(c)?.message.id).toBe(first.message.id);
        expect(value(c)?.created).toBe(false);
        expect(value(d)?.created).toBe(true);
        expect(lost).toMatchObject({ status: 'rejected', reason: { code: 'idempotency_conflict' } });
        const stored = (key: string) =>
          store.reserveIdempotencyKey(k(key, 'later'), now + 20_000, now + 30_000);
        expect(await stored('k1')).toEqual({ state: 'finished', response: respond(value(a)!) });
        expect(await stored('k2')).toEqual({ state: 'finished', response: respond(value(c)!) });
        expect(await stored('k3')).toEqual({ state: 'finished', response: respond(value(d)!) });
        const listed = await store.listMessages(
          app.id,
          { since: null, until: null, eventTypes: null, channel: null },
          { ...FIRST_PAGE, limit: 50 },
        );
        expect(listed.data.map((m) => m.eventId ?? '-').sort()).toEqual(['-', '-', 'e1', 'e3']);
        // One at a time too (the path a batch takes when one of its statements fails).
        await store.reserveIdempotencyKey(k('alone'), now, now + 10_000);
        const alone = await store.publish(app.id, input('e-alone'), now, { key: k('alone'), respond });
        expect(await stored('alone')).toEqual({ state: 'finished', response: respond(alone) });
      } finally {
        await close();
      }
    });

    it('records a batch of outcomes in order: a disabling meets the later deliveries of the batch still leased', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
        const now = Date.now();
        for (const eventId of ['first', 'second']) {
          await store.publish(app.id, { eventType: 'x', eventId, payload: '{}', channels: null }, now);
        }
        const [first, second] = await claim(store, 'w', now);
        // 410 disables the endpoint; the second delivery, leased meanwhile, is then due for a retry.
        await record(store, [
          {
            leaseId: 'w',
            deliveryId: first!.deliveryId,
            attempt: attempt(first!, now, 410),
            next: { kind: 'failed_and_disable_endpoint' },
          },
          {
            leaseId: 'w',
            deliveryId: second!.deliveryId,
            attempt: attempt(second!, now, 500),
            next: { kind: 'retry', at: now + 60_000 },
          },
        ]);
        const statusOf = async (d: typeof first) =>
          (await store.listDeliveriesOfMessage(app.id, d!.msgId, FIRST_PAGE)).data[0]?.status;
        expect(await statusOf(first)).toBe('fail');
        expect(await statusOf(second)).toBe('pending');
      } finally {
        await close();
      }
    });

    it('refuses a second app or endpoint with the same uid', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a', 'dup'));
        await expect(store.createApp(appInput('b', 'dup'))).rejects.toMatchObject({
          code: 'conflict',
          status: 409,
        });
        await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/', { uid: 'ep' }));
        await expect(
          store.createEndpoint(app.id, endpointInput('http://127.0.0.1/', { uid: 'ep' })),
        ).rejects.toMatchObject({
          code: 'conflict',
        });
      } finally {
        await close();
      }
    });

    it('prunes idempotency records past their time and expired app tokens, in bounded batches', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        const now = Date.now();
        const save = async (key: string, at: number) => {
          const k = { scope: 'admin', key, owner: 'o' };
          await store.reserveIdempotencyKey(k, at, at + 1000);
          await store.finishIdempotencyKey(k, { statusCode: 200, body: '{}' });
        };
        for (let i = 0; i < 3; i++) await save(`old${i}`, now - 10_000);
        await save('fresh', now);
        await store.saveAppToken('expired', { appId: app.id, readOnly: false }, now - 1);
        await store.saveAppToken('live', { appId: app.id, readOnly: true }, now + 60_000);
        expect(await store.pruneExpired(now, now - 5_000, 2)).toBe(3);
        expect(await store.pruneExpired(now, now - 5_000, 2)).toBe(1);
        const probe = (key: string) =>
          store.reserveIdempotencyKey({ scope: 'admin', key, owner: 'p' }, now, now);
        expect(await probe('old2')).toEqual({ state: 'reserved' });
        expect((await probe('fresh')).state).toBe('finished');
        expect(await store.findAppToken('live', now)).toEqual({ appId: app.id, readOnly: true });
      } finally {
        await close();
      }
    });

    it("lets a resend made during an attempt win over that attempt's result", async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        const ep = await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
        const now = Date.now();
        const { message } = await store.publish(
          app.id,
          { eventType: 'x', eventId: null, payload: '{}', channels: null },
          now,
        );
        const [d] = await claim(store, 'lease-1', now);
        await store.resend(app.id, message.id, ep.id, now + 1);
        // Still leased: nobody else may attempt it meanwhile.
        expect(await claim(store, 'lease-2', now + 2)).toEqual([]);
        await record(store, [
          {
            leaseId: 'lease-1',
            deliveryId: d!.deliveryId,
            attempt: attempt(d!, now + 3, 200),
            next: { kind: 'succeeded' },
          },
        ]);
        const [again] = await claim(store, 'lease-3', now + 4);
        expect(again).toMatchObject({ deliveryId: d!.deliveryId, trigger: 'manual', attemptsMade: 0 });
      } finally {
        await close();
      }
    });

    it('ignores a late result whose lease ran out and was granted again, even to the same worker', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        const ep = await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
        const now = Date.now();
        await store.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: null }, now);
        const [first] = await claim(store, 'worker:1', now);
        const [second] = await claim(store, 'worker:2', now + 10_000);
        expect(second?.deliveryId).toBe(first!.deliveryId);
        await record(store, [
          {
            leaseId: 'worker:1',
            deliveryId: first!.deliveryId,
            attempt: attempt(first!, now + 10_001, 200),
            next: { kind: 'succeeded' },
          },
        ]);
        expect(await store.endpointStats(app.id, ep.id, { since: null, until: null })).toMatchObject({
          sending: 1,
          success: 0,
        });
        expect(await claim(store, 'worker:3', now + 10_002)).toEqual([]);
      } finally {
        await close();
      }
    });

    it('fails the waiting deliveries of an endpoint as soon as it is disabled', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        const off = await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/off'));
        const on = await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/on'));
        const now = Date.now();
        for (let i = 0; i < 5; i++) {
          await store.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: null }, now);
        }
        const { secrets: _s, ...rest } = off;
        await store.updateEndpoint(app.id, off.id, { ...rest, disabled: true });
        expect(await store.endpointStats(app.id, off.id, { since: null, until: null })).toMatchObject({
          fail: 5,
          pending: 0,
        });
        const claimed = await claim(store, 'w', now, { limit: 5 });
        expect(claimed.map((c) => c.endpointId)).toEqual(Array(5).fill(on.id));
      } finally {
        await close();
      }
    });

    it('deletes old attempts and finished messages in bounded batches, never undelivered work', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
        const old = Date.now() - 100 * 24 * 3600 * 1000;
        const publish = () =>
          store.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: null }, old);
        const done = [await publish(), await publish(), await publish()];
        const [waiting] = [await publish()];
        // Deliver the first three; the fourth stays pending.
        const claimed = await claim(store, 'w', Date.now(), { limit: 3 });
        await record(
          store,
          claimed.map((d) => ({
            leaseId: 'w',
            deliveryId: d.deliveryId,
            attempt: attempt(d, old, 200),
            next: { kind: 'succeeded' },
          })),
        );
        const cutoff = Date.now() - 90 * 24 * 3600 * 1000;
        expect(await store.pruneRetention(cutoff, 2)).toEqual({
          attempts: 2,
          messages: 2,
          inboundRequests: 0,
        });
        expect(await store.pruneRetention(cutoff, 2)).toEqual({
          attempts: 1,
          messages: 1,
          inboundRequests: 0,
        });
        expect(await store.pruneRetention(cutoff, 2)).toEqual({
          attempts: 0,
          messages: 0,
          inboundRequests: 0,
        });
        for (const { message } of done) expect(await store.getMessage(app.id, message.id)).toBeNull();
        expect(await store.getMessage(app.id, waiting!.message.id)).not.toBeNull();
        expect(await claim(store, 'w2', Date.now())).toHaveLength(1);
      } finally {
        await close();
      }
    });

    it('drops the younger attempts of a message that retention drops, so none outlives its message', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
        const old = Date.now() - 100 * 24 * 3600 * 1000;
        await store.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: null }, old);
        const [d] = await claim(store, 'w', Date.now());
        const outcome = (at: number) => ({
          leaseId: 'w',
          deliveryId: d!.deliveryId,
          attempt: attempt(d!, at, 200),
          next: { kind: 'succeeded' } as const,
        });
        // An old attempt and one within the retention period (a late manual resend, say).
        await record(store, [outcome(old)]);
        await record(store, [outcome(Date.now())]);
        const cutoff = Date.now() - 90 * 24 * 3600 * 1000;
        expect(await store.pruneRetention(cutoff, 10)).toEqual({
          attempts: 2,
          messages: 1,
          inboundRequests: 0,
        });
        const left = await store.listAttempts(app.id, { ...NO_ATTEMPT_FILTER, msgId: d!.msgId }, FIRST_PAGE);
        expect(left.data).toEqual([]);
      } finally {
        await close();
      }
    });

    it('refuses to resend a message retention has dropped, queueing nothing', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        const ep = await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
        const old = Date.now() - 100 * 24 * 3600 * 1000;
        const { message } = await store.publish(
          app.id,
          { eventType: 'x', eventId: null, payload: '{}', channels: null },
          old,
        );
        const [d] = await claim(store, 'w', Date.now());
        await record(store, [
          {
            leaseId: 'w',
            deliveryId: d!.deliveryId,
            attempt: attempt(d!, old, 200),
            next: { kind: 'succeeded' },
          },
        ]);
        await store.pruneRetention(Date.now() - 90 * 24 * 3600 * 1000, 10);
        // The caller looked the message up before retention ran: the store checks again.
        await expect(store.resend(app.id, message.id, ep.id, Date.now())).rejects.toMatchObject({
          code: 'message_not_found',
        });
        expect(await store.nextWakeAt()).toBeNull();
      } finally {
        await close();
      }
    });

    it('opens the circuit after consecutive failures: deliveries wait without using attempts, then one probe', async () => {
      const { store, close } = await openStore();
      try {
        const policy: HealthPolicy = {
          openAfterFailures: 3,
          openBaseMs: 60_000,
          openMaxMs: 600_000,
          disableAfterMs: null,
        };
        const app = await store.createApp(appInput('a'));
        const ep = await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
        const now = Date.now();
        for (let i = 0; i < 6; i++) {
          await store.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: null }, now);
        }
        const first = await claim(store, 'w1', now, { limit: 3 });
        await record(
          store,
          first.map((d) => ({
            leaseId: 'w1',
            deliveryId: d.deliveryId,
            attempt: attempt(d, now, 500),
            next: { kind: 'retry', at: now + 1000 },
          })),
          policy,
        );
        // Open for a minute: nothing is claimable, the untried deliveries included.
        expect(await claim(store, 'w2', now + 2000)).toEqual([]);
        expect(await store.nextWakeAt()).toBe(now + 60_000);
        // Half-open: one probe at a time.
        const probes = await claim(store, 'w3', now + 60_000);
        expect(probes).toHaveLength(1);
        expect(await claim(store, 'w4', now + 60_000, { inFlightByEndpoint: new Map([[ep.id, 1]]) })).toEqual(
          [],
        );
        await record(
          store,
          [
            {
              leaseId: 'w3',
              deliveryId: probes[0]!.deliveryId,
              attempt: attempt(probes[0]!, now + 60_001, 200),
              next: { kind: 'succeeded' },
            },
          ],
          policy,
        );
        // Closed again: everything else flows.
        expect(await claim(store, 'w5', now + 60_002)).toHaveLength(5);
        const endpoint = await store.getEndpoint(app.id, ep.id);
        expect(endpoint).toMatchObject({ disabled: false, failingSince: null });
      } finally {
        await close();
      }
    });

    it('counts failures from the last success, also within one batch of outcomes', async () => {
      const { store, close } = await openStore();
      try {
        const policy: HealthPolicy = {
          openAfterFailures: 2,
          openBaseMs: 60_000,
          openMaxMs: 600_000,
          disableAfterMs: null,
        };
        const app = await store.createApp(appInput('a'));
        await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
        const now = Date.now();
        for (let i = 0; i < 4; i++) {
          await store.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: null }, now);
        }
        const claimed = await claim(store, 'w1', now);
        // Success, failure, success, failure: never two failures in a row, so the circuit stays closed.
        await record(
          store,
          claimed.map((d, i) => ({
            leaseId: 'w1',
            deliveryId: d.deliveryId,
            attempt: attempt(d, now + i, i % 2 === 0 ? 200 : 500),
            next: i % 2 === 0 ? { kind: 'succeeded' } : { kind: 'retry', at: now + 1000 },
          })),
          policy,
        );
        expect(await claim(store, 'w2', now + 2000)).toHaveLength(2);
      } finally {
        await close();
      }
    });

    it('disables an endpoint that has failed without a success for the configured time, saying why', async () => {
      const { store, close } = await openStore();
      try {
        const policy: HealthPolicy = {
          openAfterFailures: 1000,
          openBaseMs: 1,
          openMaxMs: 1,
          disableAfterMs: 60_000,
        };
        const app = await store.createApp(appInput('a'));
        const ep = await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/'));
        const now = Date.now();
        await store.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: null }, now);
        await store.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: null }, now);
        const [d] = await claim(store, 'w1', now, { limit: 1 });
        const fail = (at: number, leaseId: string, dd: typeof d) =>
          record(
            store,
            [
              {
                leaseId,
                deliveryId: dd!.deliveryId,
                attempt: attempt(dd!, at, 503),
                next: { kind: 'retry', at: at + 1 },
              },
            ],
            policy,
          );
        expect(await fail(now, 'w1', d)).toEqual([]);
        expect((await store.getEndpoint(app.id, ep.id))?.failingSince).toBe(now);
        const [again] = await claim(store, 'w2', now + 60_000, { limit: 1 });
        expect(await fail(now + 60_000, 'w2', again)).toEqual([
          { appId: app.id, endpointId: ep.id, reason: 'failing' },
        ]);
        const endpoint = await store.getEndpoint(app.id, ep.id);
        expect(endpoint).toMatchObject({ disabled: true, disabledReason: 'failing', failingSince: now });
        // Both deliveries failed: the one that was waiting to retry and the one just tried.
        expect(await store.endpointStats(app.id, ep.id, { since: null, until: null })).toMatchObject({
          pending: 0,
          fail: 2,
        });
        // Enabling again starts afresh.
        const { secrets: _s, disabledReason: _r, failingSince: _f, ...rest } = endpoint!;
        const enabled = await store.updateEndpoint(app.id, ep.id, { ...rest, disabled: false });
        expect(enabled).toMatchObject({ disabled: false, disabledReason: null, failingSince: null });
      } finally {
        await close();
      }
    });

    it('gives deferred deliveries back without counting an attempt, and reports rate limits on claims', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/', { rateLimit: 5 }));
        const now = Date.now();
        await store.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: null }, now);
        const [d] = await claim(store, 'w1', now);
        expect(d?.rateLimit).toBe(5);
        await store.deferDeliveries([
          { leaseId: 'someone-else', deliveryId: d!.deliveryId, until: now + 10 },
        ]);
        expect(await claim(store, 'w2', now + 10)).toEqual([]); // still leased: a foreign lease defers nothing
        await store.deferDeliveries([{ leaseId: 'w1', deliveryId: d!.deliveryId, until: now + 500 }]);
        expect(await claim(store, 'w3', now + 499)).toEqual([]);
        const [back] = await claim(store, 'w4', now + 500);
        expect(back).toMatchObject({ deliveryId: d!.deliveryId, attemptsMade: 0 });
      } finally {
        await close();
      }
    });

    it('keeps foreign bytes exactly: NUL and bytes that are not UTF-8 in a body, a payload and an answer', async () => {
      const { store, close } = await openStore();
      try {
        const nulAndBadUtf8 = Buffer.from([0x61, 0x00, 0x62, 0xff, 0xfe]);
        const nulText = 'a\u0000b';
        const source = await store.createSource({
          name: 's',
          uid: null,
          type: 'generic',
          config: {},
          metadata: {},
          token: 'token',
        });
        await store.createEndpoint(source.appId, endpointInput('http://127.0.0.1/'));
        const now = Date.now();
        const logged = await store.recordInbound(
          source,
          {
            headers: { 'content-type': 'application/octet-stream' },
            body: nulAndBadUtf8,
            eventType: 'unknown',
            outcome: 'accepted',
            dedupeKey: null,
            dedupeSince: 0,
            publish: {
              eventType: 'unknown',
              eventId: null,
              payload: nulAndBadUtf8,
              contentType: 'application/octet-stream',
              channels: null,
            },
          },
          now,
        );
        const bytesOf = (body: string | Uint8Array | undefined) => Buffer.from(body ?? '');
        expect(bytesOf((await store.getInbound(source.id, logged.id))?.body)).toEqual(nulAndBadUtf8);
        expect(bytesOf((await store.getMessage(source.appId, logged.msgId!))?.payload)).toEqual(
          nulAndBadUtf8,
        );
        // A text publish stays text.
        await store.publish(
          source.appId,
          { eventType: 'x', eventId: null, payload: '{"a":1}', channels: null },
          now,
        );
        const claimed = await claim(store, 'w', now);
        expect(claimed).toHaveLength(2);
        expect(claimed.map((d) => d.payload)).toEqual([nulAndBadUtf8, '{"a":1}']);
        await record(store, [
          {
            leaseId: 'w',
            deliveryId: claimed[0]!.deliveryId,
            attempt: { ...attempt(claimed[0]!, now, 200), response: nulAndBadUtf8 },
            next: { kind: 'succeeded' },
          },
          {
            leaseId: 'w',
            deliveryId: claimed[1]!.deliveryId,
            attempt: { ...attempt(claimed[1]!, now + 1, 200), response: nulText },
            next: { kind: 'succeeded' },
          },
        ]);
        const attempts = await store.listAttempts(source.appId, NO_ATTEMPT_FILTER, FIRST_PAGE);
        expect(attempts.data.map((a) => bytesOf(a.response))).toEqual([Buffer.from(nulText), nulAndBadUtf8]);
        expect(
          (await store.getAttempt(source.appId, claimed[0]!.msgId, attempts.data[1]!.id))?.response,
        ).toEqual(nulAndBadUtf8);
      } finally {
        await close();
      }
    });

    it("stores a provider's labels that carry a NUL, and still recognises its retries by them", async () => {
      const { store, close } = await openStore();
      try {
        const source = await store.createSource({
          name: 's',
          uid: null,
          type: 'generic',
          config: {},
          metadata: {},
          token: 'token',
        });
        const inbound = (now: number) =>
          store.recordInbound(
            source,
            {
              headers: {},
              body: '{}',
              eventType: 'x',
              outcome: 'accepted',
              dedupeKey: 'evt_\u0000_1',
              dedupeSince: 0,
              publish: { eventType: 'x', eventId: null, payload: '{}', channels: null },
            },
            now,
          );
        const first = await inbound(Date.now());
        const again = await inbound(Date.now() + 1);
        expect(first.status).toBe('accepted');
        expect(again).toMatchObject({ status: 'duplicate', msgId: first.msgId });
        const rejected = await store.recordInbound(
          source,
          {
            headers: {},
            body: '',
            eventType: null,
            outcome: 'rejected',
            statusCode: 401,
            reason: 'bad \u0000',
          },
          Date.now(),
        );
        expect((await store.getInbound(source.id, rejected.id))?.reason).toBe('bad \uFFFD');
      } finally {
        await close();
      }
    });

    it('stores a setting if absent exactly once, even when callers race', async () => {
      const { store, close } = await openStore();
      try {
        await store.setSetting('other', 'untouched');
        const results = await Promise.all(
          ['a', 'b', 'c', 'd'].map((value) => store.setSettingIfAbsent('first-start', value)),
        );
        // Every caller learns the same winner, and it is one of the values offered.
        expect(new Set(results).size).toBe(1);
        expect(['a', 'b', 'c', 'd']).toContain(results[0]);
        expect(await store.getSetting('first-start')).toBe(results[0]);
        expect(await store.setSettingIfAbsent('first-start', 'later')).toBe(results[0]);
        expect(await store.getSetting('other')).toBe('untouched');
      } finally {
        await close();
      }
    });

    it('commits the other writes of a batch when one of them fails', async () => {
      const { store, close } = await openStore();
      try {
        const results = await Promise.allSettled([
          store.createApp(appInput('first', 'same')),
          store.createApp(appInput('second', 'same')),
          store.createApp(appInput('third', 'other')),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect((await store.getApp('same'))?.name).toBe('first');
        expect((await store.getApp('other'))?.name).toBe('third');
        const page = await store.listApps({ limit: 10, iterator: null, order: 'ascending' });
        expect(page.data).toHaveLength(2);
      } finally {
        await close();
      }
    });

    it('expunges a message for good: payload {}, pending deliveries cancelled, still listed, others untouched', async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        const other = await store.createApp(appInput('b'));
        await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/e'));
        const now = Date.now();
        const publish = (payload: string) =>
          store.publish(app.id, { eventType: 'x', eventId: null, payload, channels: null }, now);
        const { message: secret } = await publish('{"card":"4242"}');
        const { message: kept } = await publish('{"keep":true}');

        expect(await store.expungeMessageContent(other.id, secret.id, now)).toBe(false);
        expect(await store.expungeMessageContent(app.id, 'msg_missing', now)).toBe(false);
        expect((await store.getMessage(app.id, secret.id))?.payload).toBe('{"card":"4242"}');

        expect(await store.expungeMessageContent(app.id, secret.id, now + 1)).toBe(true);
        const gone = await store.getMessage(app.id, secret.id);
        expect(gone).toMatchObject({ payload: '{}', expungedAt: now + 1 });
        const listed = await store.listMessages(
          app.id,
          { since: null, until: null, eventTypes: null, channel: null },
          FIRST_PAGE,
        );
        expect(listed.data.map((m) => m.id).sort()).toEqual([secret.id, kept.id].sort());
        expect(listed.data.find((m) => m.id === secret.id)?.payload).toBe('{}');
        expect((await store.getMessage(app.id, kept.id))?.payload).toBe('{"keep":true}');
        // Only the kept message is still sent; the expunged one's delivery was cancelled.
        const claimed = await claim(store, 'w', now + 10);
        expect(claimed.map((c) => c.msgId)).toEqual([kept.id]);
        expect(claimed[0]!.payload).toBe('{"keep":true}');
      } finally {
        await close();
      }
    });

    it("expunges the request log's copy of an inbound body with its message", async () => {
      const { store, close } = await openStore();
      try {
        const source = await store.createSource({
          name: 's',
          uid: null,
          type: 'generic',
          config: {},
          metadata: {},
          token: 'token',
        });
        const now = Date.now();
        const accepted = (body: string) =>
          store.recordInbound(
            source,
            {
              headers: {},
              body,
              eventType: 'x',
              outcome: 'accepted',
              publish: { eventType: 'x', eventId: null, payload: body, channels: null },
              dedupeKey: null,
              dedupeSince: now,
            },
            now,
          );
        const secret = await accepted('{"ssn":"123"}');
        const kept = await accepted('{"keep":1}');
        expect(await store.expungeMessageContent(source.appId, secret.msgId!, now)).toBe(true);
        expect((await store.getInbound(source.id, secret.id))?.body).toBe('');
        expect((await store.getMessage(source.appId, secret.msgId!))?.payload).toBe('{}');
        expect((await store.getInbound(source.id, kept.id))?.body).toBe('{"keep":1}');
      } finally {
        await close();
      }
    });

    it("expunges one attempt's response body and leaves the others", async () => {
      const { store, close } = await openStore();
      try {
        const app = await store.createApp(appInput('a'));
        const other = await store.createApp(appInput('b'));
        await store.createEndpoint(app.id, endpointInput('http://127.0.0.1/e'));
        const now = Date.now();
        await store.publish(app.id, { eventType: 'x', eventId: null, payload: '{}', channels: null }, now);
        const [d] = await claim(store, 'w', now);
        const first = { ...attempt(d!, now, 500), response: 'token=s3cret' };
        await record(store, [
          { leaseId: 'w', deliveryId: d!.deliveryId, attempt: first, next: { kind: 'retry', at: now + 1 } },
        ]);
        const [again] = await claim(store, 'w2', now + 1);
        const second = { ...attempt(again!, now + 1, 200), response: 'ok' };
        await record(store, [
          { leaseId: 'w2', deliveryId: again!.deliveryId, attempt: second, next: { kind: 'succeeded' } },
        ]);

        expect(await store.expungeAttemptContent(other.id, d!.msgId, first.id)).toBe(false);
        expect(await store.expungeAttemptContent(app.id, 'msg_other', first.id)).toBe(false);
        expect(await store.expungeAttemptContent(app.id, d!.msgId, first.id)).toBe(true);
        expect((await store.getAttempt(app.id, d!.msgId, first.id))?.response).toBe('EXPUNGED');
        expect((await store.getAttempt(app.id, d!.msgId, second.id))?.response).toBe('ok');
        const listed = await store.listAttempts(
          app.id,
          { ...NO_ATTEMPT_FILTER, msgId: d!.msgId },
          FIRST_PAGE,
        );
        expect(listed.data.map((a) => a.response).sort()).toEqual(['EXPUNGED', 'ok']);
      } finally {
        await close();
      }
    });
  });
}
