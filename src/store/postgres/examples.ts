import { newId } from '../../domain/ids.js';
import { messageInsertValues, newMessage } from '../rows.js';
import { INSERT_MESSAGE, REQUEUE_DELIVERY } from '../sql.js';
import type { Store } from '../store.js';
import type { PgContext } from './database.js';

export function makeExamples({ commit }: PgContext): Pick<Store, 'publishToEndpoint'> {
  return {
    publishToEndpoint: (appId, endpointId, input, now) =>
      commit(async (tx) => {
        const message = newMessage(appId, input, now);
        await tx.run(INSERT_MESSAGE, messageInsertValues(message));
        await tx.run(REQUEUE_DELIVERY, [newId('dlv', now), appId, message.id, endpointId, now, now, now]);
        tx.notifyDue();
        return message;
      }),
  };
}
