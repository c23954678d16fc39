import * as grpc from '@grpc/grpc-js';
import type { DependencyCheck } from '@orderflow/platform';
import { HealthCheckResponse_ServingStatus as ServingStatus, HealthClient } from './gen/grpc/health/v1/health';

/** The shape of a generated client class (`OrderServiceClient`, `InventoryServiceClient`, `HealthClient`). */
export type GrpcClientConstructor<C> = new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>) => C;

export interface GrpcClientOptions {
  /** Defaults to plaintext: services talk inside the cluster network. */
  credentials?: grpc.ChannelCredentials;
  /** Merged over the defaults (round_robin balancing). */
  channelOptions?: Partial<grpc.ClientOptions>;
}

// round_robin spreads calls over every address DNS returns, which is what a headless
// Kubernetes Service gives; with a single address it behaves like the default pick_first.
const DEFAULT_CHANNEL_OPTIONS: Partial<grpc.ClientOptions> = {
  'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  // grpc-js backs off reconnects up to 120 s, and calls fail fast meanwhile: after a 10 s outage a
  // restarted service went unused for ~10 s more. A 2 s cap keeps recovery prompt (refused connects are cheap).
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2_000,
};

/** A generated client for `address` (`host:port`, or `dns:///host:port`); close it with `client.close()`. */
export function createGrpcClient<C>(ClientCtor: GrpcClientConstructor<C>, address: string, options: GrpcClientOptions = {}): C {
  const credentials = options.credentials ?? grpc.credentials.createInsecure();
  return new ClientCtor(address, credentials, { ...DEFAULT_CHANNEL_OPTIONS, ...options.channelOptions });
}

/** The call deadline `ms` from now, for a call's `deadline` option. */
export function deadline(ms: number): Date {
  return new Date(Date.now() + ms);
}

/** A generated unary method in its (request, metadata, options, callback) form. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response?: Res) => void,
) => grpc.ClientUnaryCall;

export interface UnaryCallOptions {
  /** Every call has a deadline; there is deliberately no default. */
  timeoutMs: number;
  /** Trace context and the like. */
  metadata?: grpc.Metadata;
  /** Cancels the call (it then fails with CANCELLED). */
  signal?: AbortSignal;
}

/** Calls a generated unary method as a promise: `callUnary(client.getOrder.bind(client), req, { timeoutMs: 2000 })`. */
export function callUnary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, options: UnaryCallOptions): Promise<Res> {
  const { timeoutMs, metadata = new grpc.Metadata(), signal } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => call.cancel();
    const call = method(request, metadata, { deadline: deadline(timeoutMs) }, (error, response) => {
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(response as Res);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A health check that asks `address` over grpc.health.v1 and passes only on SERVING. One channel
 * lives as long as the check (grpc-js reconnects it by itself), so a check opens no connection of
 * its own; `close()` ends it.
 */
export function grpcHealthCheck(name: string, address: string, options: { timeoutMs?: number; service?: string } = {}): DependencyCheck & { close(): void } {
  const { timeoutMs = 1_000, service = '' } = options;
  let client: HealthClient | undefined;
  return {
    name,
    async check() {
      client ??= createGrpcClient(HealthClient, address);
      try {
        const { status } = await callUnary(client.check.bind(client), { service }, { timeoutMs });
        if (status !== ServingStatus.SERVING) throw new Error(`${name} at ${address} is ${ServingStatus[status] ?? status}`);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'number') throw new Error(`${name} at ${address} did not answer its health check: ${(error as Error).message}`, { cause: error });
        throw error;
      }
    },
    close() {
      client?.close();
      client = undefined;
    },
  };
}
