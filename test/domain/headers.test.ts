import { describe, expect, it } from 'vitest';
import { checkCustomHeaders, isSensitiveHeader } from '../../src/domain/headers.js';

describe('checkCustomHeaders', () => {
  it('accepts ordinary custom headers', () => {
    expect(checkCustomHeaders({ 'X-Foo': 'bar' })).toBeNull();
    expect(
      checkCustomHeaders({ 'X-Foo': 'bar', 'X-Tenant-Id': '42', Accept: 'application/json' }),
    ).toBeNull();
    expect(checkCustomHeaders({})).toBeNull();
  });

  it('accepts null values (a header being removed)', () => {
    expect(checkCustomHeaders({ 'X-Foo': null })).toBeNull();
  });

  it.each([
    ['CRLF', 'bar\r\nX-Injected: 1'],
    ['a bare LF', 'bar\nX-Injected: 1'],
    ['a bare CR', 'bar\rX-Injected: 1'],
    ['NUL', 'bar\0baz'],
  ])('refuses a value containing %s as invalid_header', (_what, value) => {
    expect(checkCustomHeaders({ 'X-Foo': value })).toEqual({ kind: 'invalid_header', name: 'X-Foo' });
  });

  it.each(['X Foo', 'X-Foo:', 'X-Foo\r\n', '', 'X(Foo)', 'X/Foo', 'Ünicode', 'X-Foo\0'])(
    'refuses the name %j, which is not an RFC 9110 token, as invalid_header',
    (name) => {
      expect(checkCustomHeaders({ [name]: 'v' })).toEqual({ kind: 'invalid_header', name });
    },
  );

  it.each([
    'webhook-id',
    'webhook-timestamp',
    'webhook-signature',
    'Webhook-Signature',
    'WEBHOOK-ANYTHING',
    'svix-id',
    'Svix-Signature',
    'content-type',
    'Content-Type',
    'content-length',
    'host',
    'HOST',
    'transfer-encoding',
    'Transfer-Encoding',
    'connection',
    'Connection',
    'upgrade',
    'proxy-authorization',
    'X-Hookgate-Anything',
  ])('refuses %s as reserved_header', (name) => {
    expect(checkCustomHeaders({ [name]: 'v' })).toEqual({ kind: 'reserved_header', name });
  });

  it('reports the offending header among acceptable ones', () => {
    expect(checkCustomHeaders({ 'X-Foo': 'a', Host: 'evil.example', 'X-Bar': 'b' })).toEqual({
      kind: 'reserved_header',
      name: 'Host',
    });
  });

  it('does not treat headers that merely contain a reserved word as reserved', () => {
    expect(checkCustomHeaders({ 'X-Webhook-Id': 'v', 'X-Host': 'v', 'X-Content-Type': 'v' })).toBeNull();
  });
});

describe('isSensitiveHeader', () => {
  it.each([
    'Authorization',
    'authorization',
    'Proxy-Authorization',
    'Cookie',
    'X-Api-Key',
    'x-apikey',
    'X-Auth-Token',
    'X-Client-Secret',
    'X-Password',
  ])('hides %s', (name) => {
    expect(isSensitiveHeader(name)).toBe(true);
  });

  it.each(['X-Foo', 'Accept', 'X-Tenant-Id', 'X-Request-Id', 'Accept-Language'])('shows %s', (name) => {
    expect(isSensitiveHeader(name)).toBe(false);
  });
});
