import type { LookupAddress, LookupOptions } from 'node:dns';
import dns from 'node:dns';
import { ALLOW_NETWORKS_HINT, type Cidr, isAddressAllowed } from '../domain/ssrf.js';
import type { CachedResolve, Resolve } from './cached-resolve.js';

/**
 * The system resolver: `dns.lookup`, as `net.connect` would use (it reads /etc/hosts, which the
 * c-ares `dns.resolve*` do not). It reports no TTL. It blocks a thread of libuv's pool (4
 * threads) for as long as it takes, and that pool also flushes the SQLite WAL that acknowledges
 * every publish: makeCachedResolve bounds how many run at once.
 */
export const systemResolve: Resolve = (hostname) =>
  dns.promises.lookup(hostname, { all: true, verbatim: true });

export class RefusedAddressError extends Error {
  readonly code = 'HOOKGATE_SSRF_REFUSED';
  constructor(hostname: string, address: string) {
    super(
      `refused to connect to ${hostname} (${address}): private or reserved address. ${ALLOW_NETWORKS_HINT}`,
    );
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `net.connect` lookup that resolves the name and refuses the connection before any socket
 * opens when an address is private or reserved. Checking at connect time (not when the URL is
 * saved) closes the DNS-rebinding gap: the address judged is the address dialed. If any record
 * of a name is refused, the whole name is, so a mixed answer cannot smuggle a private target.
 * `resolve` may answer from a cache: the addresses are judged again on every use.
 */
export function makeGuardedLookup(allowed: readonly Cidr[], resolve: CachedResolve) {
  return function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
    resolve(hostname).then(
      (records) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const candidates = wanted ? records.filter((r) => r.family === wanted) : records;
        const refused = records.find((r) => !isAddressAllowed(r.address, allowed));
        if (refused) return callback(new RefusedAddressError(hostname, refused.address), '');
        if (candidates.length === 0) {
          const err: NodeJS.ErrnoException = new Error(`no address for ${hostname}`);
          err.code = 'ENOTFOUND';
          return callback(err, '');
        }
        if (options.all) return callback(null, candidates);
        const first = candidates[0]!;
        callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}
