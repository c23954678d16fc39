// One webhook POST with SSRF guards at delivery time: the host is resolved here, every address it
// resolves to is checked, and the socket connects to those checked addresses (the resolver is the
// connection's own `lookup`), so a name that re-resolves elsewhere between check and connect (DNS
// rebinding) cannot slip through. Redirects are not followed; the whole exchange has one deadline.
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { checkAddresses, hostOf, type GuardOptions } from './address-guard';

export interface PostOptions extends GuardOptions {
  /** Longest the whole exchange may take: resolving, connecting, TLS, sending, and the status line. */
  timeoutMs: number;
  /** Every address of a name, as the connection will use them (default dns.lookup with `all`); tests stand in for a DNS server. */
  resolve?: Resolver;
}

/** Answers every address `hostname` has now (of `family` only, when given). */
export type Resolver = (hostname: string, family: 4 | 6 | undefined) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname, family) => dnsLookup(hostname, { all: true, verbatim: true, ...(family ? { family } : {}) });

/** What the receiver answered: its status (a redirect included: never followed). */
export interface PostResult {
  status: number;
  location?: string;
}

/** A `lookup` for net.connect that resolves, refuses a non-public address and answers only checked ones. */
function guardedLookup(options: GuardOptions, resolve: Resolver): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    const { family } = lookupOptions;
    resolve(hostname, family === 4 || family === 'IPv4' ? 4 : family === 6 || family === 'IPv6' ? 6 : undefined).then(
      (addresses) => {
        try {
          checkAddresses(
            hostname,
            addresses.map((a) => a.address),
            options,
          );
          if (addresses.length === 0) throw Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
        } catch (refused) {
          return callback(refused as NodeJS.ErrnoException, '', 0);
        }
        // net.connect asks for every address (happy eyeballs) or for one; either way only these.
        if (lookupOptions.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

/** POSTs `body` to `url` with `headers`; rejects on a refused address, a network error or the deadline. */
export function postWebhook(url: string, body: string, headers: Record<string, string>, options: PostOptions): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    if (target.protocol !== 'https:' && !(options.allowPrivate && target.protocol === 'http:')) {
      return reject(new Error(`refused: ${target.protocol} URLs are not delivered to`));
    }
    const host = hostOf(target);
    try {
      if (isIP(host)) checkAddresses(host, [host], options); // a literal address never reaches `lookup`
    } catch (error) {
      return reject(error);
    }
    const request = (target.protocol === 'https:' ? https : http).request(target, {
      method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      lookup: guardedLookup(options, options.resolve ?? systemResolver),
      agent: false, // a fresh connection (and a fresh check) per delivery
      timeout: options.timeoutMs,
    });
    const deadline = setTimeout(() => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    request.on('timeout', () => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    request.on('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    request.on('response', (response) => {
      clearTimeout(deadline);
      // Only the status counts: the body is not read, and the connection is not kept.
      resolve({ status: response.statusCode ?? 0, ...(response.headers.location ? { location: response.headers.location } : {}) });
      response.destroy();
      request.destroy();
    });
    request.end(body);
  });
}
