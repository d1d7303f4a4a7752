import { Type } from 'typebox';
import { ApiError } from '../../domain/errors.js';
import type { EventType } from '../../domain/model.js';
import type { EventTypeInput } from '../../store/store.js';
import { EVENT_TYPE_NAME_PATTERN, errorResponses, ListOf, listQuery } from '../schemas/common.js';
import {
  EventTypeIn,
  EventTypeOut,
  EventTypeParams,
  EventTypePatch,
  EventTypeUpdate,
} from '../schemas/event-types.js';
import { WithContentQuery } from '../schemas/messages.js';
import type { Api, ApiDeps } from '../types.js';
import { eventTypeOut } from '../wire.js';
import { pageQuery } from './paging.js';

type EventTypeFields = Partial<Omit<EventTypeInput, 'name'>>;

function eventTypeFields(body: EventTypeFields, base?: EventType): Omit<EventTypeInput, 'name'> {
  return {
    description: body.description ?? base?.description ?? '',
    archived: body.archived ?? base?.archived ?? false,
    deprecated: body.deprecated ?? base?.deprecated ?? false,
    featureFlag: body.featureFlag !== undefined ? body.featureFlag : (base?.featureFlag ?? null),
    schemas: body.schemas !== undefined ? body.schemas : (base?.schemas ?? null),
  };
}

export function eventTypeRoutes(api: Api, { store }: ApiDeps): void {
  const tags = ['Event Type'];
  const mustGet = async (name: string) => {
    const eventType = await store.getEventType(name);
    if (!eventType) throw new ApiError('event_type_not_found');
    return eventType;
  };

  api.get(
    '/api/v1/event-type',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        querystring: Type.Intersect([
          listQuery(EVENT_TYPE_NAME_PATTERN),
          Type.Object({
            include_archived: Type.Optional(Type.Boolean({ default: false })),
            with_content: Type.Optional(Type.Boolean()),
          }),
        ]),
        response: { 200: ListOf(EventTypeOut), ...errorResponses },
      },
    },
    async (request) => {
      const page = await store.listEventTypes(
        pageQuery(request.query),
        request.query.include_archived ?? false,
      );
      const withContent = request.query.with_content ?? true;
      return { ...page, data: page.data.map((e) => eventTypeOut(e, withContent)) };
    },
  );

  api.post(
    '/api/v1/event-type',
    {
      config: { caller: 'admin' },
      schema: { tags, body: EventTypeIn, response: { 201: EventTypeOut, ...errorResponses } },
    },
    async (request, reply) => {
      const created = await store.createEventType({
        name: request.body.name,
        ...eventTypeFields(request.body),
      });
      reply.code(201);
      return eventTypeOut(created);
    },
  );

  api.get(
    '/api/v1/event-type/:event_type_name',
    {
      config: { caller: 'app' },
      schema: {
        tags,
        params: EventTypeParams,
        querystring: WithContentQuery,
        response: { 200: EventTypeOut, ...errorResponses },
      },
    },
    async (request) =>
      eventTypeOut(await mustGet(request.params.event_type_name), request.query.with_content ?? true),
  );

  api.put(
    '/api/v1/event-type/:event_type_name',
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params: EventTypeParams,
        body: EventTypeUpdate,
        response: { 200: EventTypeOut, 201: EventTypeOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const name = request.params.event_type_name;
      if (!(await store.getEventType(name))) {
        reply.code(201);
        return eventTypeOut(await store.createEventType({ name, ...eventTypeFields(request.body) }));
      }
      return eventTypeOut(await store.updateEventType(name, eventTypeFields(request.body)));
    },
  );

  api.patch(
    '/api/v1/event-type/:event_type_name',
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params: EventTypeParams,
        body: EventTypePatch,
        response: { 200: EventTypeOut, ...errorResponses },
      },
    },
    async (request) => {
      const current = await mustGet(request.params.event_type_name);
      return eventTypeOut(await store.updateEventType(current.name, eventTypeFields(request.body, current)));
    },
  );

  api.delete(
    '/api/v1/event-type/:event_type_name',
    {
      config: { caller: 'admin' },
      schema: {
        tags,
        params: EventTypeParams,
        querystring: Type.Object({ expunge: Type.Optional(Type.Boolean({ default: false })) }),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const current = await mustGet(request.params.event_type_name);
      await store.deleteEventType(current.name, request.query.expunge ?? false);
      reply.code(204);
      return null;
    },
  );
}
