import { newId } from '../../domain/ids.js';
import { messageInsertValues, newMessage } from '../rows.js';
import { INSERT_MESSAGE, REQUEUE_DELIVERY } from '../sql.js';
import type { Store } from '../store.js';
import type { SqliteContext } from './database.js';

export function makeExamples({ prepare, commit }: SqliteContext): Pick<Store, 'publishToEndpoint'> {
  return {
    publishToEndpoint: (appId, endpointId, input, now) =>
      commit(() => {
        const message = newMessage(appId, input, now);
        prepare(INSERT_MESSAGE).run(...messageInsertValues(message));
        prepare(REQUEUE_DELIVERY).run(newId('dlv', now), appId, message.id, endpointId, now, now, now);
        return message;
      }),
  };
}
