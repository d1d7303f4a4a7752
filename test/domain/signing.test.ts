import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TOLERANCE_SECONDS,
  parseSecret,
  SECRET_PREFIX,
  sign,
  signatureHeader,
  verify,
  type WebhookHeaders,
} from '../../src/domain/signing.js';

interface Vector {
  secret: string;
  id: string;
  timestamp: number;
  payload: string;
  signature: string;
}

interface VectorFile {
  tolerance_seconds: number;
  vectors: Vector[];
  must_reject: string[];
}

const vectorFile = JSON.parse(
  readFileSync(new URL('../fixtures/standard-webhooks.json', import.meta.url), 'utf8'),
) as VectorFile;
const vector = vectorFile.vectors[0]!;
const vectorSecret = parseSecret(vector.secret)!;

function vectorHeaders(overrides: Partial<WebhookHeaders> = {}): WebhookHeaders {
  return {
    'webhook-id': vector.id,
    'webhook-timestamp': String(vector.timestamp),
    'webhook-signature': vector.signature,
    ...overrides,
  };
}

function secretOfBytes(n: number): string {
  return SECRET_PREFIX + randomBytes(n).toString('base64');
}

describe('the Standard Webhooks test vector', () => {
  it('is loaded from the shared vector file with the spec tolerance', () => {
    expect(vectorFile.vectors.length).toBeGreaterThan(0);
    expect(vectorFile.tolerance_seconds).toBe(DEFAULT_TOLERANCE_SECONDS);
    expect(vectorSecret).not.toBeNull();
  });

  it('sign reproduces the vector signature', () => {
    for (const v of vectorFile.vectors) {
      const secret = parseSecret(v.secret)!;
      expect(`v1,${sign(secret, v.id, v.timestamp, v.payload)}`).toBe(v.signature);
    }
  });

  it('signatureHeader with the vector secret reproduces the vector header', () => {
    expect(signatureHeader([vectorSecret], vector.id, vector.timestamp, vector.payload)).toBe(
      vector.signature,
    );
  });

  it('verify accepts the vector at its own timestamp', () => {
    expect(verify(vectorSecret, vectorHeaders(), vector.payload, vector.timestamp)).toBeNull();
  });

  it('verify accepts the vector at the edges of the 300 s tolerance', () => {
    expect(verify(vectorSecret, vectorHeaders(), vector.payload, vector.timestamp + 300)).toBeNull();
    expect(verify(vectorSecret, vectorHeaders(), vector.payload, vector.timestamp - 300)).toBeNull();
  });

  it('verify accepts the vector signature among other signatures in the header', () => {
    const headers = vectorHeaders({
      'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')} ${vector.signature}`,
    });
    expect(verify(vectorSecret, headers, vector.payload, vector.timestamp)).toBeNull();
  });
});

describe('verify rejects everything the spec says must be rejected', () => {
  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const)(
    'rejects a request missing the %s header',
    (header) => {
      const headers = vectorHeaders();
      delete headers[header];
      expect(verify(vectorSecret, headers, vector.payload, vector.timestamp)).toBe('missing_headers');
      expect(verify(vectorSecret, vectorHeaders({ [header]: '' }), vector.payload, vector.timestamp)).toBe(
        'missing_headers',
      );
    },
  );

  it('rejects a signature computed with another secret', () => {
    const other = parseSecret(secretOfBytes(24))!;
    expect(verify(other, vectorHeaders(), vector.payload, vector.timestamp)).toBe('no_matching_signature');
  });

  it('rejects a truncated (partial) signature', () => {
    const truncated = vector.signature.slice(0, -4);
    expect(
      verify(
        vectorSecret,
        vectorHeaders({ 'webhook-signature': truncated }),
        vector.payload,
        vector.timestamp,
      ),
    ).toBe('no_matching_signature');
    expect(
      verify(vectorSecret, vectorHeaders({ 'webhook-signature': 'v1,' }), vector.payload, vector.timestamp),
    ).toBe('no_matching_signature');
  });

  it('rejects a timestamp more than 300 s in the past', () => {
    expect(verify(vectorSecret, vectorHeaders(), vector.payload, vector.timestamp + 301)).toBe(
      'timestamp_too_old',
    );
  });

  it('rejects a timestamp more than 300 s in the future', () => {
    expect(verify(vectorSecret, vectorHeaders(), vector.payload, vector.timestamp - 301)).toBe(
      'timestamp_too_new',
    );
  });

  it('rejects a non-numeric timestamp', () => {
    expect(
      verify(vectorSecret, vectorHeaders({ 'webhook-timestamp': 'soon' }), vector.payload, vector.timestamp),
    ).toBe('invalid_timestamp');
  });

  it('rejects a body changed by one byte after signing', () => {
    const changed = vector.payload.replace('2432232314', '2432232315');
    expect(changed).not.toBe(vector.payload);
    expect(changed.length).toBe(vector.payload.length);
    expect(verify(vectorSecret, vectorHeaders(), changed, vector.timestamp)).toBe('no_matching_signature');
    expect(verify(vectorSecret, vectorHeaders(), `${vector.payload} `, vector.timestamp)).toBe(
      'no_matching_signature',
    );
  });

  it('rejects a signature under a version other than v1', () => {
    const v2 = vector.signature.replace(/^v1,/, 'v2,');
    expect(
      verify(vectorSecret, vectorHeaders({ 'webhook-signature': v2 }), vector.payload, vector.timestamp),
    ).toBe('no_matching_signature');
  });
});

describe('parseSecret', () => {
  it('accepts the whsec_-prefixed form and the bare base64 form alike', () => {
    const bare = vector.secret.slice(SECRET_PREFIX.length);
    expect(parseSecret(bare)).toEqual(vectorSecret);
  });

  it.each([24, 32, 48, 64])('accepts a %i-byte secret with and without the prefix', (n) => {
    const bytes = randomBytes(n);
    const b64 = bytes.toString('base64');
    expect(parseSecret(SECRET_PREFIX + b64)).toEqual(bytes);
    expect(parseSecret(b64)).toEqual(bytes);
  });

  it.each([23, 65, 0])('rejects a %i-byte secret', (n) => {
    const b64 = randomBytes(n).toString('base64');
    expect(parseSecret(SECRET_PREFIX + b64)).toBeNull();
    expect(parseSecret(b64)).toBeNull();
  });

  it.each([
    ['characters outside the base64 alphabet', `${SECRET_PREFIX}${'!'.repeat(32)}`],
    ['url-safe base64', `${SECRET_PREFIX}${'-_'.repeat(16)}`],
    ['a length that is not a multiple of four', `${SECRET_PREFIX}${'A'.repeat(33)}`],
    ['embedded whitespace', `${SECRET_PREFIX}${'A'.repeat(16)} ${'A'.repeat(15)}`],
    ['the prefix alone', SECRET_PREFIX],
    ['an empty string', ''],
  ])('rejects a secret with %s', (_why, secret) => {
    expect(parseSecret(secret)).toBeNull();
  });
});

describe('signatureHeader', () => {
  it('yields one space-separated v1 entry per secret, in order', () => {
    const a = parseSecret(secretOfBytes(32))!;
    const b = parseSecret(secretOfBytes(32))!;
    const header = signatureHeader([a, b], 'msg_1', 1_700_000_000, '{"x":1}');
    const entries = header.split(' ');
    expect(entries).toHaveLength(2);
    expect(entries[0]).toBe(`v1,${sign(a, 'msg_1', 1_700_000_000, '{"x":1}')}`);
    expect(entries[1]).toBe(`v1,${sign(b, 'msg_1', 1_700_000_000, '{"x":1}')}`);
  });

  it('verifies under either secret of the pair', () => {
    const a = parseSecret(secretOfBytes(32))!;
    const b = parseSecret(secretOfBytes(32))!;
    const ts = 1_700_000_000;
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(ts),
      'webhook-signature': signatureHeader([a, b], 'msg_1', ts, 'body'),
    };
    expect(verify(a, headers, 'body', ts)).toBeNull();
    expect(verify(b, headers, 'body', ts)).toBeNull();
  });
});

describe('interop with the public receiver libraries', () => {
  const oldSecret = secretOfBytes(24);
  const newSecret = secretOfBytes(32);
  const payload = { type: 'invoice.paid', data: { amount: 42, note: 'é ✓' } };
  const body = JSON.stringify(payload);

  function rotatedHeaders(): Record<string, string> {
    const id = 'msg_2Yk8qzTq2tEBhNn1Hq7fS3Jk0vU';
    const ts = Math.floor(Date.now() / 1000);
    return {
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signatureHeader([parseSecret(oldSecret)!, parseSecret(newSecret)!], id, ts, body),
    };
  }

  it.each([
    ['old', oldSecret],
    ['new', newSecret],
  ])('standardwebhooks verifies a rotated signature with the %s key', (_which, key) => {
    expect(new StandardWebhook(key).verify(body, rotatedHeaders())).toEqual(payload);
  });

  it.each([
    ['old', oldSecret],
    ['new', newSecret],
  ])('svix verifies a rotated signature with the %s key', (_which, key) => {
    expect(new SvixWebhook(key).verify(body, rotatedHeaders())).toEqual(payload);
  });

  it('both libraries reject the signature under a key that was never used', () => {
    const stranger = secretOfBytes(32);
    expect(() => new StandardWebhook(stranger).verify(body, rotatedHeaders())).toThrow();
    expect(() => new SvixWebhook(stranger).verify(body, rotatedHeaders())).toThrow();
  });
});
