import { Type } from 'typebox';
import { ApiError } from '../../domain/errors.js';
import type { App } from '../../domain/model.js';
import type { Published } from '../../store/store.js';
import { loadApp } from '../auth.js';
import { sendStored } from '../idempotency.js';
import { AppIdParams, errorResponses, ListOf, listQueryOf, MessageParams } from '../schemas/common.js';
import {
  MessageEndpointOut,
  MessageIn,
  MessageListQuery,
  MessageOut,
  ResendParams,
  WithContentQuery,
} from '../schemas/messages.js';
import type { Api, ApiDeps } from '../types.js';
import { messageEndpointOut, messageOut, timeParam } from '../wire.js';
import { appInput, createOrGetApp } from './applications.js';
import { loadEndpoint } from './endpoints.js';
import { pageQuery } from './paging.js';

export function messageRoutes(api: Api, { store, wakeDispatcher }: ApiDeps): void {
  const tags = ['Message'];

  api.post(
    '/api/v1/app/:app_id/msg',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: AppIdParams,
        querystring: WithContentQuery,
        body: MessageIn,
        response: { 202: MessageOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { body } = request;
      let app: App | null = null;
      if (
        body.application &&
        request.principal.kind === 'admin' &&
        !(await store.getApp(request.params.app_id))
      ) {
        // Svix: an inline application is created under the path's id as its uid, if missing.
        const input = appInput({ ...body.application, uid: request.params.app_id });
        app = (await createOrGetApp(store, input, true)).app;
      }
      const appId = (app ?? (await loadApp(store, request, request.params.app_id))).id;
      const withContent = request.query.with_content ?? true;
      const input = {
        eventType: body.eventType,
        eventId: body.eventId ?? null,
        payload: JSON.stringify(body.payload),
        channels: body.channels ?? null,
        tags: body.tags ?? null,
        deliverAt: timeParam(body.deliverAt),
      };
      // The Idempotency-Key's response is stored in the message's own commit.
      return sendStored<Published>(
        request,
        reply,
        202,
        ({ message, created }) => messageOut(message, withContent, created ? body.payload : undefined),
        async (idempotency) => {
          const published = await store.publish(appId, input, Date.now(), idempotency);
          if (published.created) wakeDispatcher();
          return published;
        },
      );
    },
  );

  api.get(
    '/api/v1/app/:app_id/msg',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: AppIdParams,
        querystring: Type.Intersect([listQueryOf('msg'), MessageListQuery]),
        response: { 200: ListOf(MessageOut), ...errorResponses },
      },
    },
    async (request) => {
      const app = await loadApp(store, request, request.params.app_id);
      const q = request.query;
      const page = await store.listMessages(
        app.id,
        {
          since: timeParam(q.after),
          until: timeParam(q.before),
          eventTypes: q.event_types ?? null,
          channel: q.channel ?? null,
          tag: q.tag ?? null,
        },
        pageQuery(q, 'descending'),
      );
      return { ...page, data: page.data.map((m) => messageOut(m, q.with_content ?? true)) };
    },
  );

  api.get(
    '/api/v1/app/:app_id/msg/:msg_id',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: MessageParams,
        querystring: WithContentQuery,
        response: { 200: MessageOut, ...errorResponses },
      },
    },
    async (request) => {
      const app = await loadApp(store, request, request.params.app_id);
      const message = await store.getMessage(app.id, request.params.msg_id);
      if (!message) throw new ApiError('message_not_found');
      return messageOut(message, request.query.with_content ?? true);
    },
  );

  api.get(
    '/api/v1/app/:app_id/msg/:msg_id/endpoint',
    {
      config: { caller: 'app' },
      schema: {
        tags: ['Message Attempt'],
        params: MessageParams,
        querystring: listQueryOf('ep'),
        response: { 200: ListOf(MessageEndpointOut), ...errorResponses },
      },
    },
    async (request) => {
      const app = await loadApp(store, request, request.params.app_id);
      const message = await store.getMessage(app.id, request.params.msg_id);
      if (!message) throw new ApiError('message_not_found');
      const page = await store.listDeliveriesOfMessage(app.id, message.id, pageQuery(request.query));
      return { ...page, data: page.data.map(messageEndpointOut) };
    },
  );

  api.post(
    '/api/v1/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend',
    {
      config: { caller: 'app' },
      schema: {
        tags: ['Message Attempt'],
        params: ResendParams,
        response: { 202: Type.Object({}), ...errorResponses },
      },
    },
    async (request, reply) => {
      const app = await loadApp(store, request, request.params.app_id);
      const message = await store.getMessage(app.id, request.params.msg_id);
      if (!message) throw new ApiError('message_not_found');
      if (message.expungedAt !== null) throw new ApiError('missing_payload');
      const endpoint = await loadEndpoint(store, app.id, request.params.endpoint_id);
      await store.resend(app.id, message.id, endpoint.id, Date.now());
      wakeDispatcher();
      reply.code(202);
      return {};
    },
  );
}
