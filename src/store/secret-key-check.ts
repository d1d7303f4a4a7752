import { makeSecretBox, PLAINTEXT_BOX, type SecretBox } from '../domain/secret-box.js';
import { withSealedSecrets } from './sealed.js';
import type { Store } from './store.js';

/**
 * The setting holding a known text sealed with the key this database's secrets are sealed with:
 * checked at every start, so a wrong key is refused there and not found out, secret by secret,
 * as 500s on deliveries, stats and secrets afterwards.
 */
export const SECRET_KEY_CHECK_SETTING = 'secret_key_check';
const CHECK_TEXT = 'hookgate secret key check v1';

const WRONG_KEY =
  'HOOKGATE_SECRET_KEY does not match the key the secrets in this database were sealed with: ' +
  'start with the key they were sealed with (a lost key cannot be recovered: the sealed signing ' +
  'and provider secrets would have to be set again)';
const NO_KEY =
  'secrets in this database are sealed: set HOOKGATE_SECRET_KEY (or --secret-key) to the key they were sealed with';

function opens(box: SecretBox, sealed: string, expected: string | null): boolean {
  try {
    const opened = box.open(sealed);
    return expected === null || opened === expected;
  } catch {
    return false;
  }
}

/**
 * Checks the configured key against what the database holds, refusing to start (an Error that
 * says what to do) when it cannot open what is sealed, then returns the store sealing and opening
 * secrets with it. The check: the key-check setting when there is one; else any sealed secret
 * found (a database sealed before the setting existed). With a key, the setting is stored (once;
 * nodes racing store one, and a node whose key does not open the winner's is refused too).
 * Without a key, only secrets actually sealed refuse the start: one started with a key but never
 * given a secret has nothing to open.
 */
export async function withCheckedSecretKey(store: Store, key: Buffer | null): Promise<Store> {
  if (!key) {
    if ((await store.findSealedSecret()) !== null) throw new Error(NO_KEY);
    return withSealedSecrets(store, PLAINTEXT_BOX);
  }
  const box = makeSecretBox(key);
  const check = await store.getSetting(SECRET_KEY_CHECK_SETTING);
  if (check !== null) {
    if (!opens(box, check, CHECK_TEXT)) throw new Error(WRONG_KEY);
    return withSealedSecrets(store, box);
  }
  const sealed = await store.findSealedSecret();
  if (sealed !== null && !opens(box, sealed, null)) throw new Error(WRONG_KEY);
  const stored = await store.setSettingIfAbsent(SECRET_KEY_CHECK_SETTING, box.seal(CHECK_TEXT));
  if (!opens(box, stored, CHECK_TEXT)) throw new Error(WRONG_KEY);
  return withSealedSecrets(store, box);
}
