import * as grpc from '@grpc/grpc-js';
import { Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS } from '@orderflow/platform';

/**
 * A server interceptor recording `orderflow_grpc_server_request_duration_seconds{method,code}` for every call:
 * `method` is the full path (`/orderflow.order.v1.OrderService/CreateOrder`), `code` the status name.
 */
export function grpcServerMetrics(registry: Registry): grpc.ServerInterceptor {
  const duration = new Histogram({
    name: 'orderflow_grpc_server_request_duration_seconds',
    help: 'gRPC calls handled, by method and status code',
    labelNames: ['method', 'code'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  return (method, call) => {
    const stop = duration.startTimer({ method: method.path });
    return new grpc.ServerInterceptingCall(call, {
      sendStatus: (status, next) => {
        stop({ code: grpc.status[status.code] ?? String(status.code) });
        next(status);
      },
    });
  };
}
