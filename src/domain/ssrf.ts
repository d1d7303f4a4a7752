import ipaddr from 'ipaddr.js';

/**
 * SSRF classification: which destination addresses a webhook may be delivered to.
 * Only the unicast public internet is allowed by default; the operator can exempt CIDR ranges
 * (tests and local development allow 127.0.0.0/8 and ::1).
 */
const REFUSED_IPV4_RANGES = new Set([
  'unspecified', // 0.0.0.0/8
  'broadcast',
  'multicast',
  'linkLocal', // 169.254/16, includes the 169.254.169.254 metadata service
  'loopback',
  'carrierGradeNat', // 100.64/10
  'private', // 10/8, 172.16/12, 192.168/16
  'reserved',
  'as112',
  'amt',
]);
const REFUSED_IPV6_RANGES = new Set([
  'unspecified',
  'linkLocal', // fe80::/10
  'multicast',
  'loopback',
  'uniqueLocal', // fc00::/7
  'ipv4Mapped',
  'rfc6145',
  'rfc6052',
  '6to4',
  'teredo',
  'reserved',
  'benchmarking',
  'amt',
  'as112v6',
  'deprecatedSiteLocal', // fec0::/10
  'deprecatedOrchid',
  'discard', // 100::/64
  'segmentRouting',
  'orchid2',
  'droneRemoteIdProtocolEntityTags',
]);
// ipaddr.js does not classify these, and they are not reachable public unicast either.
const EXTRA_REFUSED_CIDRS = [
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // TEST-NET-1
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // TEST-NET-2
  '203.0.113.0/24', // TEST-NET-3
  '240.0.0.0/4', // reserved, includes 255.255.255.255
  '::/96', // IPv4-compatible IPv6 (deprecated): ::7f00:1 would reach 127.0.0.1 on some stacks
  'fd00:ec2::254/128', // AWS IPv6 metadata (inside fc00::/7, listed for the reader)
].map((c) => ipaddr.parseCIDR(c));

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

export function parseCidrList(text: string): Cidr[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      try {
        return unmapped(s.includes('/') ? ipaddr.parseCIDR(s) : toHostCidr(ipaddr.parse(s)));
      } catch {
        throw new Error(`invalid network "${s}" (expected CIDR such as 10.0.0.0/8)`);
      }
    });
}

/** The text `parseCidrList` reads back as the same list (to hand networks to another thread). */
export function formatCidrList(cidrs: readonly Cidr[]): string {
  return cidrs.map(([address, bits]) => `${address.toString()}/${bits}`).join(',');
}

/**
 * An IPv4-mapped network (::ffff:10.0.0.0/104) as the IPv4 network it is: addresses are judged
 * unwrapped (see normalise), so written mapped it would never match.
 */
function unmapped([net, bits]: Cidr): Cidr {
  if (net.kind() === 'ipv6' && bits >= 96 && (net as ipaddr.IPv6).isIPv4MappedAddress()) {
    return [(net as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [net, bits];
}

function toHostCidr(addr: ipaddr.IPv4 | ipaddr.IPv6): Cidr {
  return [addr, addr.kind() === 'ipv4' ? 32 : 128];
}

/** Unwraps IPv4-mapped IPv6 (::ffff:127.0.0.1) so it is judged as the IPv4 address it is. */
function normalise(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!ipaddr.isValid(address)) return null;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed;
}

function inCidr(addr: ipaddr.IPv4 | ipaddr.IPv6, [net, bits]: Cidr): boolean {
  return addr.kind() === net.kind() && addr.match(net, bits);
}

/**
 * What to do about a refused address, said wherever one is refused (a 422 when an endpoint is
 * saved, an attempt's recorded reason at connect time): the one setting that allows a range.
 */
export const ALLOW_NETWORKS_HINT =
  'To allow such addresses, list their ranges in HOOKGATE_ALLOW_NETWORKS (or --allow-networks), ' +
  'e.g. HOOKGATE_ALLOW_NETWORKS=127.0.0.0/8,::1/128 for a receiver on this machine, ' +
  'or run `hookgate serve --dev` for local development.';

/** True when an HTTP request to `address` (an IP literal) may be made. Unparsable is refused. */
export function isAddressAllowed(address: string, allowed: readonly Cidr[]): boolean {
  const addr = normalise(address);
  if (!addr) return false;
  if (allowed.some((c) => inCidr(addr, c))) return true;
  if (EXTRA_REFUSED_CIDRS.some((c) => inCidr(addr, c))) return false;
  const range = addr.range();
  return addr.kind() === 'ipv4' ? !REFUSED_IPV4_RANGES.has(range) : !REFUSED_IPV6_RANGES.has(range);
}

/**
 * The IP literal a URL hostname denotes, or null for a DNS name. WHATWG URL parsing already
 * canonicalises decimal, octal and hex IPv4 forms ("http://2130706433/" → 127.0.0.1), so a
 * parsed URL's hostname is enough.
 */
export function ipLiteralOf(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) && (bare.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(bare))
    ? bare
    : null;
}
