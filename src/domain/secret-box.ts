import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Encryption of secrets at rest (endpoint signing secrets, provider secrets) with AES-256-GCM
 * under a key from configuration. Sealed values are `enc:v1:<base64 iv ‖ tag ‖ ciphertext>`;
 * values without that prefix are read as plaintext, so a key can be introduced on a database
 * written without one (secrets are then sealed as they are next written).
 */
export interface SecretBox {
  seal(plaintext: string): string;
  open(stored: string): string;
}

const PREFIX = 'enc:v1:';
/** Where a sealed value may sit inside stored text (a JSON list of secrets, a source's config). */
const SEALED_IN_TEXT = /enc:v1:[A-Za-z0-9+/]+={0,2}/;

/** Text that every stored text holding a sealed value contains (for a `LIKE` search). */
export const SEALED_MARK = PREFIX;

/** The first sealed value inside `text` (stored JSON), or null when it holds none. */
export function sealedValueIn(text: string): string | null {
  return SEALED_IN_TEXT.exec(text)?.[0] ?? null;
}
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** No key configured: secrets are stored as they are. */
export const PLAINTEXT_BOX: SecretBox = {
  seal: (plaintext) => plaintext,
  open: (stored) => {
    if (stored.startsWith(PREFIX))
      throw new Error('secret is encrypted but no HOOKGATE_SECRET_KEY is configured');
    return stored;
  },
};

/** Parses HOOKGATE_SECRET_KEY: base64 of exactly 32 random bytes. */
export function parseSecretKey(text: string): Buffer {
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32 || key.toString('base64') !== text.replace(/\s/g, '')) {
    throw new Error('HOOKGATE_SECRET_KEY must be base64 of 32 random bytes (e.g. `openssl rand -base64 32`)');
  }
  return key;
}

export function makeSecretBox(key: Buffer): SecretBox {
  return {
    seal(plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    open(stored) {
      if (!stored.startsWith(PREFIX)) return stored;
      const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      // A wrong key fails here (authentication), never yields a wrong secret.
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    },
  };
}
