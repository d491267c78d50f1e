import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { OutboundError } from './outbound-error.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** A host name to its addresses (A and AAAA). */
export type Resolve = (hostname: string) => Promise<ResolvedAddress[]>;

const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

/**
 * Whether an address is on the public internet: ipaddr.js's `unicast` (no loopback, RFC 1918,
 * CGNAT, link-local, unspecified, multicast, broadcast, documentation or reserved range, no
 * IPv4-mapped, NAT64 or 6to4 form of one), and for IPv6 inside 2000::/3 too, which also
 * refuses the deprecated IPv4-compatible `::a.b.c.d` and ULA fc00::/7.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const ip = ipaddr.parse(address);
  if (ip.range() !== 'unicast') return false;
  return ip.kind() === 'ipv4' || ip.match(GLOBAL_UNICAST);
}

/** The system's resolver (getaddrinfo: /etc/hosts, then DNS), as Node resolves by default. */
export const systemResolve: Resolve = async (hostname) =>
  (await dns.promises.lookup(hostname, { all: true, verbatim: true })) as ResolvedAddress[];

/**
 * A resolver that asks one DNS server (`host:port`) directly. Internal (OUTBOUND_DNS_SERVER):
 * the tests point it at a DNS server of their own, so that names resolve to loopback addresses
 * through real resolution without touching /etc/hosts.
 */
export function dnsServerResolve(server: string): Resolve {
  const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([server]);
  return async (hostname) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
    const found: ResolvedAddress[] = [
      ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
    ];
    if (found.length === 0) {
      throw v4.status === 'rejected' ? v4.reason : Object.assign(new Error(`no address`), { code: 'ENOTFOUND' });
    }
    return found;
  };
}

/**
 * net.connect's `lookup`: resolves through `resolve` and, when `filter` is set, refuses the
 * connection unless every address is public (a name that answers one public and one private
 * address could otherwise be dialled at the private one). Called for each new connection, so
 * a name that changes its answer after a check (DNS rebinding) is checked again; the address
 * dialled is the address checked.
 */
export function lookupThrough(resolve: Resolve, filter: boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (all) => {
        const refused = filter ? all.find((a) => !isPublicAddress(a.address)) : undefined;
        if (refused) {
          callback(new OutboundError('refused: private address', `${hostname} resolves to ${refused.address}`), '');
          return;
        }
        const wanted = options.family ? all.filter((a) => a.family === options.family) : all;
        if (wanted.length === 0) {
          callback(Object.assign(new Error(`no IPv${options.family} address`), { code: 'ENOTFOUND' }), '');
        } else if (options.all) {
          (callback as unknown as (err: null, all: ResolvedAddress[]) => void)(null, wanted);
        } else {
          callback(null, wanted[0].address, wanted[0].family);
        }
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, ''),
    );
  };
}
