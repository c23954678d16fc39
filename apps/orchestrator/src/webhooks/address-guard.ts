// What a webhook may reach: https URLs of hosts whose every address is public unicast, so that an
// admin's (or an attacker's) URL can never make the orchestrator call into its own network (SSRF).
// `allowPrivate` (WEBHOOK_ALLOW_PRIVATE) lifts both rules, for receivers on a developer's machine.
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { AppError } from '@orderflow/domain';

/**
 * Whether `address` is a public unicast address. Every other range ipaddr.js names is refused:
 * private, loopback, link-local, unique local, multicast, unspecified, carrier-grade NAT, reserved,
 * and the IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4, Teredo) unless it is public.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address); // an IPv4-mapped IPv6 address is judged as its IPv4 address
  return parsed.range() === 'unicast';
}

/** An address a webhook may not reach; `code` says so to the caller (a 400 at subscribe time). */
export class BlockedAddressError extends Error {
  readonly code = 'WEBHOOK_ADDRESS_BLOCKED';
}

/** The host of a URL as resolvers and `isIP` take it (`[::1]` → `::1`). */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

export interface GuardOptions {
  allowPrivate: boolean;
}

/** Refuses every address of `host` that is not public (all must be: one private one is enough to refuse). */
export function checkAddresses(host: string, addresses: string[], { allowPrivate }: GuardOptions): void {
  if (allowPrivate) return;
  const blocked = addresses.find((a) => !isPublicAddress(a));
  if (blocked !== undefined) throw new BlockedAddressError(`${host} resolves to ${blocked}, which is not a public address`);
}

const MAX_URL = 2_048;

/**
 * Validates a subscription's URL when an admin sets it (400 when it is refused): absolute http(s),
 * https unless private addresses are allowed, no credentials, and a host that is not a private
 * address, nor resolves to one. A name that does not resolve now is accepted: every delivery checks
 * the addresses again, and connects only to the ones it checked.
 */
export async function validateWebhookUrl(raw: string, options: GuardOptions & { resolveTimeoutMs?: number }): Promise<string> {
  const refuse = (why: string) => new AppError('VALIDATION_FAILED', `url: ${why}`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('not an absolute URL');
  }
  if (raw.length > MAX_URL) throw refuse(`longer than ${MAX_URL} characters`);
  if (url.protocol !== 'https:' && !(options.allowPrivate && url.protocol === 'http:')) throw refuse('must be https');
  if (url.username || url.password) throw refuse('must not carry credentials');
  if (url.hash) throw refuse('must not have a fragment');
  const host = hostOf(url);
  try {
    if (isIP(host)) checkAddresses(host, [host], options);
    else if (!options.allowPrivate) {
      if (host === 'localhost' || host.endsWith('.localhost')) throw new BlockedAddressError(`${host} is a loopback name`);
      const resolved = await withTimeout(dnsLookup(host, { all: true, verbatim: true }), options.resolveTimeoutMs ?? 2_000).catch(() => []);
      checkAddresses(
        host,
        resolved.map((r) => r.address),
        options,
      );
    }
  } catch (error) {
    if (error instanceof BlockedAddressError) throw refuse(error.message);
    throw error;
  }
  return url.toString();
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
