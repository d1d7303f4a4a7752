import {
  CANCEL_PENDING_OF_MESSAGE,
  EXPUNGE_ATTEMPT,
  EXPUNGE_INBOUND_BODIES,
  EXPUNGE_MESSAGE,
} from '../expunge.js';
import type { Store } from '../store.js';
import type { PgContext } from './database.js';

type ExpungeStore = Pick<Store, 'expungeMessageContent' | 'expungeAttemptContent'>;

export function makeExpunge({ commit }: PgContext): ExpungeStore {
  return {
    expungeMessageContent: (appId, msgId, now) =>
      commit(async (tx) => {
        if ((await tx.run(EXPUNGE_MESSAGE, [now, appId, msgId])) === 0) return false;
        await tx.run(CANCEL_PENDING_OF_MESSAGE, [now, appId, msgId]);
        await tx.run(EXPUNGE_INBOUND_BODIES, [msgId, appId]);
        return true;
      }),

    expungeAttemptContent: (appId, msgId, attemptId) =>
      commit(async (tx) => (await tx.run(EXPUNGE_ATTEMPT, [appId, msgId, attemptId])) > 0),
  };
}
