import { type Cidr, ipLiteralOf, isAddressAllowed } from './ssrf.js';

/**
 * Checks an endpoint URL when it is saved: absolute http(s), no credentials, and not an IP
 * literal in a refused range. Names are judged again at connect time, after DNS resolution.
 */
export function checkEndpointUrl(
  text: string,
  allowNetworks: readonly Cidr[],
): 'invalid_url' | 'url_not_allowed' | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'invalid_url';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'invalid_url';
  if (url.username || url.password || !url.hostname) return 'invalid_url';
  const literal = ipLiteralOf(url.hostname);
  if (literal !== null && !isAddressAllowed(literal, allowNetworks)) return 'url_not_allowed';
  return null;
}
