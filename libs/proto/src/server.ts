import { join } from 'node:path';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { repoRoot } from '@orderflow/config';
import * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import type { Logger } from '@orderflow/platform';
import { HealthService } from './gen/grpc/health/v1/health';
import { createHealthService } from './health';
import { grpcServerMetrics } from './metrics';

export interface GrpcServerOptions {
  /** Receives one debug line per call, and an error line for calls that end INTERNAL/UNKNOWN/DATA_LOSS. */
  logger?: Logger;
  /** Extra server interceptors (metrics, tracing), run after the logging one. */
  interceptors?: grpc.ServerInterceptor[];
  /** grpc-js channel options, e.g. `grpc.max_receive_message_length`. */
  channelOptions?: grpc.ServerOptions;
}

// Codes that mean a bug or broken state on our side; everything else is an ordinary answer.
const SERVER_FAULTS = new Set([grpc.status.INTERNAL, grpc.status.UNKNOWN, grpc.status.DATA_LOSS]);

function loggingInterceptor(logger: Logger): grpc.ServerInterceptor {
  return (method, call) => {
    const started = Date.now();
    return new grpc.ServerInterceptingCall(call, {
      sendStatus: (status, next) => {
        const line = { method: method.path, code: grpc.status[status.code], ms: Date.now() - started };
        if (SERVER_FAULTS.has(status.code)) logger.error({ ...line, details: status.details }, 'grpc call failed');
        else logger.debug(line, 'grpc call');
        next(status);
      },
    });
  };
}

/**
 * Every server ends each client connection after about five minutes (calls in flight get 30 s to
 * finish). Clients then reconnect and resolve DNS again, which is how a `dns:///` + round_robin
 * client behind a headless Service starts using pods added by a scale-out. Keepalive pings find
 * peers that vanished without closing their connection.
 */
export const SERVER_CHANNEL_DEFAULTS: grpc.ServerOptions = {
  'grpc.max_connection_age_ms': 5 * 60_000,
  'grpc.max_connection_age_grace_ms': 30_000,
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
};

/** A grpc-js server with call logging; add services, then `startGrpcServer`. */
export function createGrpcServer(options: GrpcServerOptions = {}): grpc.Server {
  const interceptors = [...(options.logger ? [loggingInterceptor(options.logger)] : []), ...(options.interceptors ?? [])];
  return new grpc.Server({ ...SERVER_CHANNEL_DEFAULTS, ...options.channelOptions, interceptors });
}

/**
 * Binds `host:port` without TLS and resolves with the bound port (0 picks a free one). A taken port
 * becomes an error naming the env variable, like the HTTP `listen` in @orderflow/platform.
 */
export function startGrpcServer(server: grpc.Server, host: string, port: number, envName = 'GRPC_PORT'): Promise<number> {
  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, boundPort) => {
      if (!error) return resolve(boundPort);
      // grpc-js folds the listen errors into one message ("No address added … errors: [listen EADDRINUSE …]").
      if (error.message.includes('EADDRINUSE')) reject(new Error(`${envName} ${port} is already in use on ${host}`, { cause: error }));
      else if (error.message.includes('EACCES')) reject(new Error(`${envName} ${port} needs privileges this process does not have`, { cause: error }));
      else reject(error);
    });
  });
}

/**
 * Stops accepting calls and lets in-flight ones finish; after `timeoutMs` the rest are cancelled.
 * Long-lived streams (health Watch) should be ended first, or they hold the drain until the timeout.
 */
export function stopGrpcServer(server: grpc.Server, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface GrpcServiceOptions {
  logger: Logger;
  /** Where the call duration histogram goes. */
  registry: Registry;
  host: string;
  port: number;
  /** Adds the app's service(s); the standard health service is added alongside. */
  register(server: grpc.Server): void;
  /** The .proto files (under proto/) of the app's services, offered by the reflection service with health's. */
  protoFiles?: string[];
}

/**
 * The gRPC server reflection service (grpc.reflection.v1 and v1alpha) over the repository's .proto
 * files, so `grpcurl localhost:50051 list` and `describe` work without a copy of them.
 */
function addReflection(server: grpc.Server, protoFiles: string[]): void {
  const definition = loadSync([...protoFiles, 'grpc/health/v1/health.proto'], { includeDirs: [join(repoRoot(), 'proto')], keepCase: true });
  new ReflectionService(definition).addToServer(server);
}

export interface RunningGrpcService {
  port: number;
  /** Health answers NOT_SERVING from now on (the first step of a drain). */
  notServing(): void;
  /** Lets calls in flight finish for up to `timeoutMs`, then stops. */
  stop(timeoutMs: number): Promise<void>;
}

/** An app's gRPC server as every app runs it: call logging and metrics, its services plus health, listening. */
export async function serveGrpc(options: GrpcServiceOptions): Promise<RunningGrpcService> {
  const health = createHealthService();
  const server = createGrpcServer({ logger: options.logger, interceptors: [grpcServerMetrics(options.registry)] });
  options.register(server);
  server.addService(HealthService, health.implementation);
  addReflection(server, options.protoFiles ?? []);
  const port = await startGrpcServer(server, options.host, options.port);
  return { port, notServing: () => health.shutdown(), stop: (timeoutMs) => stopGrpcServer(server, timeoutMs) };
}
