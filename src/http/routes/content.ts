import { Type } from 'typebox';
import { ApiError } from '../../domain/errors.js';
import { examplePayload } from '../../domain/examples.js';
import { loadApp } from '../auth.js';
import { EndpointParams, errorResponses, MessageParams } from '../schemas/common.js';
import { AttemptParams, EventExampleIn, MessageOut } from '../schemas/messages.js';
import type { Api, ApiDeps } from '../types.js';
import { messageOut } from '../wire.js';
import { loadEndpoint } from './endpoints.js';

/**
 * Svix's content operations: expunging what a message or an attempt carried (the records stay),
 * and sending an event type's example to one endpoint.
 */
export function contentRoutes(api: Api, { store, wakeDispatcher }: ApiDeps): void {
  api.delete(
    '/api/v1/app/:app_id/msg/:msg_id/content',
    {
      // Svix: the organisation's token only (OrganizationWithApplication), not an app portal's.
      config: { caller: 'admin' },
      schema: { tags: ['Message'], params: MessageParams, response: { 204: Type.Null(), ...errorResponses } },
    },
    async (request, reply) => {
      const app = await loadApp(store, request, request.params.app_id);
      const message = await store.getMessage(app.id, request.params.msg_id);
      if (!message || !(await store.expungeMessageContent(app.id, message.id, Date.now()))) {
        throw new ApiError('message_not_found');
      }
      reply.code(204);
      return null;
    },
  );

  api.delete(
    '/api/v1/app/:app_id/msg/:msg_id/attempt/:attempt_id/content',
    {
      config: { caller: 'admin' },
      schema: {
        tags: ['Message Attempt'],
        params: AttemptParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const app = await loadApp(store, request, request.params.app_id);
      const message = await store.getMessage(app.id, request.params.msg_id);
      if (!message) throw new ApiError('message_not_found');
      if (!(await store.expungeAttemptContent(app.id, message.id, request.params.attempt_id))) {
        throw new ApiError('attempt_not_found');
      }
      reply.code(204);
      return null;
    },
  );

  api.post(
    '/api/v1/app/:app_id/endpoint/:endpoint_id/send-example',
    {
      config: { caller: 'app' },
      schema: {
        tags: ['Endpoint'],
        params: EndpointParams,
        body: EventExampleIn,
        response: { 200: MessageOut, ...errorResponses },
      },
    },
    async (request) => {
      const app = await loadApp(store, request, request.params.app_id);
      const endpoint = await loadEndpoint(store, app.id, request.params.endpoint_id);
      const eventType = await store.getEventType(request.body.eventType);
      if (!eventType) throw new ApiError('event_type_not_found');
      const payload = examplePayload(eventType.schemas);
      const message = await store.publishToEndpoint(
        app.id,
        endpoint.id,
        { eventType: eventType.name, eventId: null, payload: JSON.stringify(payload), channels: null },
        Date.now(),
      );
      wakeDispatcher();
      return messageOut(message, true, payload);
    },
  );
}
