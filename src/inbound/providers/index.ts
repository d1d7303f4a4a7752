import { parseSecret } from '../../domain/signing.js';
import type { Provider } from '../request.js';
import { generic } from './generic.js';
import { github } from './github.js';
import { shopify } from './shopify.js';
import { slack } from './slack.js';
import { standardWebhooks } from './standard-webhooks.js';
import { stripe } from './stripe.js';

/**
 * Source types Hookgate verifies, by Svix Ingest's names. The providers Svix configures with a
 * plain `{secret}` (SvixConfig) all sign the Standard Webhooks way.
 */
const STANDARD_WEBHOOKS_SENDERS = [
  'svix',
  'standard-webhooks',
  'beehiiv',
  'brex',
  'clerk',
  'guesty',
  'incident-io',
  'lithic',
  'nash',
  'pleo',
  'psi-fi',
  'replicate',
  'resend',
  'safebase',
  'sardine',
  'stych',
  'open-ai',
  'render',
] as const;

export const PROVIDERS: Readonly<Record<string, Provider>> = {
  'generic-webhook': generic,
  github,
  shopify,
  slack,
  stripe,
  ...Object.fromEntries(STANDARD_WEBHOOKS_SENDERS.map((name) => [name, standardWebhooks])),
};

export const SOURCE_TYPES = Object.keys(PROVIDERS);

/** Types that cannot verify anything without a secret. */
function requiresSecret(type: string): boolean {
  return type !== 'generic-webhook' && type !== 'github';
}

/** Why a source configuration cannot verify its provider's requests, or null when it can. */
export function sourceConfigProblem(
  type: string,
  config: { secret?: string | null | undefined },
): 'unsupported_source_type' | 'missing_source_secret' | 'invalid_secret' | null {
  const provider = PROVIDERS[type];
  if (!provider) return 'unsupported_source_type';
  if (requiresSecret(type) && !config.secret) return 'missing_source_secret';
  // Standard Webhooks secrets are base64 keys; anything else would never verify.
  if (provider === standardWebhooks && config.secret && !parseSecret(config.secret)) return 'invalid_secret';
  return null;
}
