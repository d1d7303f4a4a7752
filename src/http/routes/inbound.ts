import { Type } from 'typebox';
import { makeInboundReceiver } from '../../inbound/receive.js';
import type { Api, ApiDeps } from '../types.js';

/**
 * `POST /in/{source_id}/{token}`: where providers deliver. No bearer token (the provider has
 * none): the URL's token and the provider's signature are the credentials. The body is taken as
 * raw bytes whatever its content type, because the bytes are what is signed and forwarded.
 */
export async function inboundRoutes(api: Api, deps: ApiDeps & { maxPayloadBytes: number }): Promise<void> {
  const receive = makeInboundReceiver({ store: deps.store, wake: deps.wakeDispatcher });
  await api.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: deps.maxPayloadBytes },
      (_req, body, done) => done(null, body),
    );
    scope.post(
      '/in/:source_id/:token',
      {
        config: { caller: 'public' },
        schema: {
          tags: ['Inbound'],
          summary: 'Receive a provider webhook',
          security: [],
          params: Type.Object({
            source_id: Type.String({ maxLength: 256 }),
            token: Type.String({ maxLength: 256 }),
          }),
        },
      },
      async (request, reply) => {
        const { source_id, token } = request.params as { source_id: string; token: string };
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const res = await receive(source_id, token, request.headers, body);
        reply.code(res.statusCode).header('content-type', res.contentType);
        return res.body;
      },
    );
  });
}
