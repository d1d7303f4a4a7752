import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { Cidr } from '../domain/ssrf.js';
import type { Store } from '../store/store.js';

export type Api = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** What the routes need from the rest of Hookgate. */
export interface ApiDeps {
  store: Store;
  /** Tells the dispatcher that new deliveries were committed (no-op on API-only nodes). */
  wakeDispatcher: () => void;
  /** CIDRs exempt from the SSRF guard, also applied to IP-literal endpoint URLs on save. */
  allowNetworks: readonly Cidr[];
  /** How long app-portal tokens stay valid when the caller gives no expiry, in seconds. */
  appTokenTtlSeconds: number;
  /** Base URL providers reach Hookgate at, for ingest URLs; null: taken from the request's Host. */
  publicUrl: string | null;
}
