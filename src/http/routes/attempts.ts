import { type Static, Type } from 'typebox';
import { ApiError } from '../../domain/errors.js';
import { MESSAGE_STATUS, type MessageStatusText } from '../../domain/model.js';
import type { AttemptFilter } from '../../store/store.js';
import { loadApp } from '../auth.js';
import { EndpointParams, errorResponses, ListOf, listQueryOf, MessageParams } from '../schemas/common.js';
import {
  AttemptListQuery,
  AttemptParams,
  EndpointMessageListQuery,
  EndpointMessageOut,
  MessageAttemptOut,
  WithContentQuery,
} from '../schemas/messages.js';
import type { Api, ApiDeps } from '../types.js';
import { attemptOut, endpointMessageOut, timeParam } from '../wire.js';
import { loadEndpoint } from './endpoints.js';
import { pageQuery } from './paging.js';

type AttemptQuery = Static<typeof AttemptListQuery>;

function attemptFilter(q: AttemptQuery): AttemptFilter {
  return {
    status: q.status ?? null,
    statusCodeClass: q.status_code_class ?? null,
    since: timeParam(q.after),
    until: timeParam(q.before),
    eventTypes: q.event_types ?? null,
    channel: q.channel ?? null,
  };
}

export function attemptRoutes(api: Api, { store }: ApiDeps): void {
  const tags = ['Message Attempt'];
  const listQuery = Type.Intersect([listQueryOf('atmpt'), AttemptListQuery]);
  const listResponse = { 200: ListOf(MessageAttemptOut), ...errorResponses };

  api.get(
    '/api/v1/app/:app_id/attempt/endpoint/:endpoint_id',
    {
      config: { caller: 'app' },
      schema: { tags, params: EndpointParams, querystring: listQuery, response: listResponse },
    },
    async (request) => {
      const app = await loadApp(store, request, request.params.app_id);
      const endpoint = await loadEndpoint(store, app.id, request.params.endpoint_id);
      const filter = { ...attemptFilter(request.query), endpointId: endpoint.id };
      const page = await store.listAttempts(app.id, filter, pageQuery(request.query, 'descending'));
      const withContent = request.query.with_content ?? true;
      return { ...page, data: page.data.map((a) => attemptOut(a, withContent)) };
    },
  );

  api.get(
    '/api/v1/app/:app_id/attempt/msg/:msg_id',
    {
      config: { caller: 'app' },
      schema: { tags, params: MessageParams, querystring: listQuery, response: listResponse },
    },
    async (request) => {
      const app = await loadApp(store, request, request.params.app_id);
      const message = await store.getMessage(app.id, request.params.msg_id);
      if (!message) throw new ApiError('message_not_found');
      const filter: AttemptFilter = { ...attemptFilter(request.query), msgId: message.id };
      if (request.query.endpoint_id) {
        filter.endpointId = (await loadEndpoint(store, app.id, request.query.endpoint_id)).id;
      }
      const page = await store.listAttempts(app.id, filter, pageQuery(request.query, 'descending'));
      const withContent = request.query.with_content ?? true;
      return { ...page, data: page.data.map((a) => attemptOut(a, withContent)) };
    },
  );

  api.get(
    '/api/v1/app/:app_id/msg/:msg_id/attempt/:attempt_id',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: AttemptParams,
        querystring: WithContentQuery,
        response: { 200: MessageAttemptOut, ...errorResponses },
      },
    },
    async (request) => {
      const app = await loadApp(store, request, request.params.app_id);
      const message = await store.getMessage(app.id, request.params.msg_id);
      if (!message) throw new ApiError('message_not_found');
      const attempt = await store.getAttempt(app.id, message.id, request.params.attempt_id);
      if (!attempt) throw new ApiError('attempt_not_found');
      return attemptOut(attempt, request.query.with_content ?? true);
    },
  );

  api.get(
    '/api/v1/app/:app_id/endpoint/:endpoint_id/msg',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: EndpointParams,
        querystring: Type.Intersect([listQueryOf('msg'), EndpointMessageListQuery]),
        response: { 200: ListOf(EndpointMessageOut), ...errorResponses },
      },
    },
    async (request) => {
      const app = await loadApp(store, request, request.params.app_id);
      const endpoint = await loadEndpoint(store, app.id, request.params.endpoint_id);
      const q = request.query;
      const page = await store.listMessagesOfEndpoint(
        app.id,
        endpoint.id,
        {
          status: q.status === undefined ? null : STATUS_TEXT[q.status]!,
          since: timeParam(q.after),
          until: timeParam(q.before),
          eventTypes: q.event_types ?? null,
          channel: q.channel ?? null,
        },
        pageQuery(q, 'descending'),
      );
      return { ...page, data: page.data.map((r) => endpointMessageOut(r, q.with_content ?? true)) };
    },
  );
}

const STATUS_TEXT = Object.fromEntries(
  Object.entries(MESSAGE_STATUS).map(([text, n]) => [n, text as MessageStatusText]),
) as Record<number, MessageStatusText>;
