import {
  CANCEL_PENDING_OF_MESSAGE,
  EXPUNGE_ATTEMPT,
  EXPUNGE_INBOUND_BODIES,
  EXPUNGE_MESSAGE,
} from '../expunge.js';
import type { Store } from '../store.js';
import type { SqliteContext } from './database.js';

type ExpungeStore = Pick<Store, 'expungeMessageContent' | 'expungeAttemptContent'>;

export function makeExpunge({ prepare, commit }: SqliteContext): ExpungeStore {
  return {
    expungeMessageContent: (appId, msgId, now) =>
      commit(() => {
        if (prepare(EXPUNGE_MESSAGE).run(now, appId, msgId).changes === 0) return false;
        prepare(CANCEL_PENDING_OF_MESSAGE).run(now, appId, msgId);
        prepare(EXPUNGE_INBOUND_BODIES).run(msgId, appId);
        return true;
      }),

    expungeAttemptContent: (appId, msgId, attemptId) =>
      commit(() => prepare(EXPUNGE_ATTEMPT).run(appId, msgId, attemptId).changes > 0),
  };
}
