import { describe, expect, it } from 'vitest';
import { checkEndpointUrl } from '../../src/domain/endpoint-url.js';
import { formatCidrList, ipLiteralOf, isAddressAllowed, parseCidrList } from '../../src/domain/ssrf.js';

const REFUSED = [
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['0.0.0.0', 'unspecified'],
  ['10.0.0.1', 'private 10/8'],
  ['172.16.0.1', 'private 172.16/12'],
  ['172.31.255.255', 'private 172.16/12, last address'],
  ['192.168.1.1', 'private 192.168/16'],
  ['169.254.169.254', 'link-local metadata service'],
  ['100.64.0.1', 'carrier-grade NAT'],
  ['224.0.0.1', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['192.0.2.1', 'TEST-NET-1'],
  ['198.51.100.1', 'TEST-NET-2'],
  ['203.0.113.1', 'TEST-NET-3'],
  ['198.18.0.1', 'benchmarking'],
  ['240.0.0.1', 'reserved 240/4'],
  ['::1', 'IPv6 loopback'],
  ['::', 'IPv6 unspecified'],
  ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
  ['::ffff:7f00:1', 'IPv4-mapped loopback, hex form'],
  ['::ffff:10.0.0.1', 'IPv4-mapped private'],
  ['::ffff:169.254.169.254', 'IPv4-mapped metadata service'],
  ['fc00::1', 'unique local'],
  ['fd00:ec2::254', 'AWS IPv6 metadata service'],
  ['fe80::1', 'IPv6 link-local'],
  ['ff02::1', 'IPv6 multicast'],
  ['fec0::1', 'deprecated IPv6 site-local (fec0::/10)'],
  ['64:ff9b::a00:1', 'NAT64 of 10.0.0.1'],
  ['2002:a00:1::1', '6to4 of 10.0.0.1'],
  ['2001:db8::1', 'IPv6 documentation'],
] as const;

const ALLOWED = [
  '8.8.8.8',
  '1.1.1.1',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '172.32.0.1',
  '100.128.0.1',
];

describe('isAddressAllowed with no allow list', () => {
  it.each(REFUSED)('refuses %s (%s)', (address) => {
    expect(isAddressAllowed(address, [])).toBe(false);
  });

  it.each(ALLOWED)('allows the public address %s', (address) => {
    expect(isAddressAllowed(address, [])).toBe(true);
  });

  it.each(['', 'localhost', 'example.com', '999.1.1.1', 'not an ip'])(
    'refuses the unparsable %j',
    (address) => {
      expect(isAddressAllowed(address, [])).toBe(false);
    },
  );
});

describe('isAddressAllowed on non-canonical IPv4 forms', () => {
  it.each(['127.1', '0x7f.0.0.1', '0177.0.0.1', '2130706433', '0x7f000001'])(
    'judges %s by the loopback address it denotes',
    (address) => {
      expect(isAddressAllowed(address, [])).toBe(false);
    },
  );
});

describe('isAddressAllowed with an operator allow list', () => {
  const allowed = parseCidrList('127.0.0.0/8,::1/128');

  it('allows loopback that the operator listed', () => {
    expect(isAddressAllowed('127.0.0.1', allowed)).toBe(true);
    expect(isAddressAllowed('127.1.2.3', allowed)).toBe(true);
    expect(isAddressAllowed('::1', allowed)).toBe(true);
  });

  it('judges an IPv4-mapped address by its IPv4 form against the list', () => {
    expect(isAddressAllowed('::ffff:127.0.0.1', allowed)).toBe(true);
  });

  it('still refuses private ranges the operator did not list', () => {
    expect(isAddressAllowed('10.0.0.1', allowed)).toBe(false);
    expect(isAddressAllowed('169.254.169.254', allowed)).toBe(false);
    expect(isAddressAllowed('fc00::1', allowed)).toBe(false);
  });

  it('still allows public addresses', () => {
    expect(isAddressAllowed('8.8.8.8', allowed)).toBe(true);
  });
});

describe('parseCidrList', () => {
  it('reads CIDRs and bare addresses, ignoring blanks', () => {
    const list = parseCidrList(' 10.0.0.0/8 , ,192.168.1.5, ::1 ');
    expect(list.map(([addr, bits]) => `${addr.toString()}/${bits}`)).toEqual([
      '10.0.0.0/8',
      '192.168.1.5/32',
      '::1/128',
    ]);
    expect(parseCidrList('')).toEqual([]);
  });

  it('reads back what formatCidrList writes (how the networks reach the sender thread)', () => {
    const text =
      '10.0.0.0/8,192.168.1.5,::1,2001:db8:0:0:0:0:0:0/32,::ffff:127.0.0.1/128,fe80::1%eth0,0x7f.1/32';
    const list = parseCidrList(text);
    const again = parseCidrList(formatCidrList(list));
    expect(again.map(([a, bits]) => [a.toNormalizedString(), bits])).toEqual(
      list.map(([a, bits]) => [a.toNormalizedString(), bits]),
    );
    for (const address of [
      '10.1.2.3',
      '192.168.1.5',
      '::1',
      '2001:db8::7',
      '::ffff:127.0.0.1',
      '127.0.0.1',
    ]) {
      expect(isAddressAllowed(address, again)).toBe(isAddressAllowed(address, list));
    }
  });

  it('reads an IPv4-mapped network as the IPv4 network it is, since addresses are judged unwrapped', () => {
    const list = parseCidrList('::ffff:127.0.0.1,::ffff:10.0.0.0/104');
    expect(list.map(([addr, bits]) => `${addr.toString()}/${bits}`)).toEqual(['127.0.0.1/32', '10.0.0.0/8']);
    expect(isAddressAllowed('127.0.0.1', list)).toBe(true);
    expect(isAddressAllowed('::ffff:10.9.8.7', list)).toBe(true);
    expect(isAddressAllowed('127.0.0.2', list)).toBe(false);
  });

  it('rejects what is not a network', () => {
    expect(() => parseCidrList('10.0.0.0/33')).toThrow(/invalid network/);
    expect(() => parseCidrList('example.com')).toThrow(/invalid network/);
  });
});

describe('ipLiteralOf', () => {
  it('returns IPv4 literals as they are', () => {
    expect(ipLiteralOf('127.0.0.1')).toBe('127.0.0.1');
    expect(ipLiteralOf('8.8.8.8')).toBe('8.8.8.8');
  });

  it('strips the brackets of an IPv6 URL hostname', () => {
    expect(ipLiteralOf('[::1]')).toBe('::1');
    expect(ipLiteralOf('[fc00::1]')).toBe('fc00::1');
    expect(ipLiteralOf('::1')).toBe('::1');
  });

  it('returns null for DNS names', () => {
    expect(ipLiteralOf('example.com')).toBeNull();
    expect(ipLiteralOf('localhost')).toBeNull();
    expect(ipLiteralOf('internal.test')).toBeNull();
  });

  it.each([
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.0.0.1/', '127.0.0.1'],
    ['http://0177.0.0.1/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://127.0.0.1./', '127.0.0.1'],
  ])('sees through the obfuscated IPv4 form in %s once the URL is parsed', (url, literal) => {
    expect(ipLiteralOf(new URL(url).hostname)).toBe(literal);
  });
});

describe('checkEndpointUrl', () => {
  it.each([
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0x7f.0.0.1/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::1]:8080/',
    'http://[::]/',
    'http://169.254.169.254/latest/meta-data/',
    'https://10.0.0.1/hook',
    'http://[fd00:ec2::254]/',
    'http://[fe80::1]/',
    'http://0.0.0.0:3000/',
  ])('refuses %s as url_not_allowed', (url) => {
    expect(checkEndpointUrl(url, [])).toBe('url_not_allowed');
  });

  it.each([
    'ftp://x',
    'ftp://example.com/hook',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'not a url',
    '/relative/hook',
    '',
    'http://user:pw@example.com',
    'http://user@example.com/',
    'https://:pw@example.com/',
  ])('refuses %j as invalid_url', (url) => {
    expect(checkEndpointUrl(url, [])).toBe('invalid_url');
  });

  it.each([
    'https://example.com/hook',
    'http://example.com:8080/a?b=c',
    'https://8.8.8.8/hook',
    'https://[2606:4700:4700::1111]/hook',
  ])('accepts %s', (url) => {
    expect(checkEndpointUrl(url, [])).toBeNull();
  });

  it('leaves DNS names to be judged at connect time, even ones that resolve to loopback', () => {
    expect(checkEndpointUrl('http://localhost:3000/', [])).toBeNull();
  });

  it('accepts loopback literals the operator allowed, but not other private ones', () => {
    const allowed = parseCidrList('127.0.0.0/8,::1/128');
    expect(checkEndpointUrl('http://127.0.0.1:8080/hook', allowed)).toBeNull();
    expect(checkEndpointUrl('http://2130706433/', allowed)).toBeNull();
    expect(checkEndpointUrl('http://[::1]:8080/', allowed)).toBeNull();
    expect(checkEndpointUrl('http://10.0.0.1/', allowed)).toBe('url_not_allowed');
  });
});
