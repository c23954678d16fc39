/** A network address found in a config value: `postgres://u:p@host:5432/db`, `dns:///host:50051`, `host:9092`. */
export interface Endpoint {
  host: string;
  port?: number;
  /** `dns:///…`: resolved by the gRPC client (all addresses, round_robin), which wants a headless Service. */
  dnsScheme: boolean;
}

const HOST_PORT = /^\[?([A-Za-z0-9_.-]+|[0-9a-fA-F:]+)\]?:(\d{1,5})$/;

/** The endpoints a single config value names (none for values that are not addresses). */
export function endpointsOf(value: unknown): Endpoint[] {
  if (Array.isArray(value)) return value.flatMap(endpointsOf);
  if (typeof value !== 'string') return [];
  const dns = /^dns:\/\/[^/]*\/(.+)$/.exec(value);
  if (dns) return endpointsOf(dns[1]).map((e) => ({ ...e, dnsScheme: true }));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    try {
      const url = new URL(value);
      return url.hostname ? [{ host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : undefined, dnsScheme: false }] : [];
    } catch {
      return [];
    }
  }
  if (value.includes(',')) return value.split(',').flatMap((part) => endpointsOf(part.trim()));
  const hostPort = HOST_PORT.exec(value);
  return hostPort ? [{ host: hostPort[1]!, port: Number(hostPort[2]), dnsScheme: false }] : [];
}

/** Every endpoint in a parsed config, with the variable it came from. */
export function configEndpoints(config: Record<string, unknown>): { name: string; endpoint: Endpoint }[] {
  return Object.entries(config).flatMap(([name, value]) => endpointsOf(value).map((endpoint) => ({ name, endpoint })));
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.') || host === '0.0.0.0';
}
