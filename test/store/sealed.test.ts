import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Webhook } from 'standardwebhooks';
import { Svix } from 'svix';
import { afterEach, describe, expect, it } from 'vitest';
import { startHookgate } from '../../src/cli/server.js';
import { makeSecretBox, PLAINTEXT_BOX, parseSecretKey } from '../../src/domain/secret-box.js';
import { tempDir, testConfig } from '../helpers/hookgate.js';
import { startReceiver } from '../helpers/receiver.js';

describe('secret box', () => {
  const key = randomBytes(32);
  it('seals to a different text each time and opens to the original', () => {
    const box = makeSecretBox(key);
    const a = box.seal('whsec_abc');
    expect(a).toMatch(/^enc:v1:/);
    expect(a).not.toContain('abc');
    expect(box.seal('whsec_abc')).not.toBe(a);
    expect(box.open(a)).toBe('whsec_abc');
    expect(box.open('whsec_plain')).toBe('whsec_plain');
  });
  it('refuses to open with another key or without one, rather than return garbage', () => {
    const sealed = makeSecretBox(key).seal('whsec_abc');
    expect(() => makeSecretBox(randomBytes(32)).open(sealed)).toThrow();
    expect(() => PLAINTEXT_BOX.open(sealed)).toThrow(/HOOKGATE_SECRET_KEY/);
  });
  it('accepts only a base64 key of 32 bytes', () => {
    expect(parseSecretKey(key.toString('base64'))).toEqual(key);
    expect(() => parseSecretKey(randomBytes(16).toString('base64'))).toThrow();
  });
});

describe('secrets at rest', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('keeps endpoint and provider secrets encrypted in the database file, yet signs and verifies with them', async () => {
    const dir = tempDir();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const dbPath = join(dir, 'hookgate.db');
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    const config = testConfig(dbPath, { secretKey: randomBytes(32) });
    const hg = await startHookgate(config);
    cleanup.push(() => hg.stop());
    const svix = new Svix(config.adminToken!, { serverUrl: hg.url! });
    const app = await svix.application.create({ name: 'sealed' });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const { key } = await svix.endpoint.getSecret(app.id, ep.id);
    await svix.ingest.source.create({
      name: 'stripe',
      type: 'stripe',
      config: { secret: 'whsec_provider_secret' },
    } as never);
    await svix.message.create(app.id, { eventType: 'e', payload: { sealed: true } });
    const [req] = await receiver.waitFor(1);
    const headers = Object.fromEntries(
      ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(req!.headers[h])]),
    );
    expect(new Webhook(key).verify(req!.body, headers)).toEqual({ sealed: true });

    const raw = new Database(dbPath, { readonly: true });
    const stored = raw.prepare('SELECT secrets FROM endpoints').pluck().get() as string;
    const sourceConfig = raw.prepare('SELECT config FROM sources').pluck().get() as string;
    raw.close();
    expect(stored).not.toContain(key.slice('whsec_'.length));
    expect(stored).toContain('enc:v1:');
    expect(sourceConfig).not.toContain('whsec_provider_secret');
  });
});
