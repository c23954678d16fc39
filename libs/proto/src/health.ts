import type { ServerWritableStream } from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthServer,
} from './gen/grpc/health/v1/health';
import { grpcError } from './status';

/** The standard grpc.health.v1 service plus the switches a process flips as it starts and drains. */
export interface GrpcHealth {
  /** Pass to `server.addService(HealthService, …)` (the generated definition). */
  implementation: HealthServer;
  /** Sets one service's status; `''` is the server as a whole. Ignored after `shutdown()`. */
  setStatus(service: string, status: ServingStatus): void;
  /** Marks every service NOT_SERVING for good and ends open Watch streams so a drain is not held up. */
  shutdown(): void;
}

type Watcher = ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;

/** Creates the health service; by default the server as a whole (`''`) starts SERVING. */
export function createHealthService(initial: Record<string, ServingStatus> = { '': ServingStatus.SERVING }): GrpcHealth {
  const statuses = new Map(Object.entries(initial));
  const watchers = new Map<string, Set<Watcher>>();
  let terminal = false;

  const current = (service: string) => statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
  const notify = (service: string) => {
    for (const call of watchers.get(service) ?? []) call.write({ status: current(service) });
  };

  const implementation: HealthServer = {
    check(call, callback) {
      const status = statuses.get(call.request.service);
      if (status === undefined) callback(grpcError('NOT_FOUND', `unknown service "${call.request.service}"`));
      else callback(null, { status });
    },
    watch(call) {
      const { service } = call.request;
      // Per the spec an unknown service is not an error for Watch: it reports SERVICE_UNKNOWN and waits.
      call.write({ status: current(service) });
      if (terminal) return call.end();
      const set = watchers.get(service) ?? new Set<Watcher>();
      watchers.set(service, set.add(call));
      call.on('cancelled', () => set.delete(call));
    },
  };

  return {
    implementation,
    setStatus(service, status) {
      if (terminal || statuses.get(service) === status) return;
      statuses.set(service, status);
      notify(service);
    },
    shutdown() {
      terminal = true;
      for (const service of statuses.keys()) statuses.set(service, ServingStatus.NOT_SERVING);
      for (const [service, calls] of watchers) {
        notify(service);
        for (const call of calls) call.end();
        calls.clear();
      }
    },
  };
}
