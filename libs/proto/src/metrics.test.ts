import type { Server } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { callUnary, createGrpcClient } from './client';
import { HealthClient, HealthService } from './gen/grpc/health/v1/health';
import { createHealthService } from './health';
import { grpcServerMetrics } from './metrics';
import { createGrpcServer, startGrpcServer, stopGrpcServer } from './server';

describe('grpcServerMetrics', () => {
  let server: Server;
  afterEach(() => stopGrpcServer(server, 1_000));

  it('records orderflow_grpc_server_request_duration_seconds by full method and status code', async () => {
    const registry = new Registry();
    server = createGrpcServer({ interceptors: [grpcServerMetrics(registry)] });
    server.addService(HealthService, createHealthService().implementation);
    const port = await startGrpcServer(server, '127.0.0.1', 0);
    const client = createGrpcClient(HealthClient, `127.0.0.1:${port}`);
    try {
      await callUnary(client.check.bind(client), { service: '' }, { timeoutMs: 2_000 });
      await callUnary(client.check.bind(client), { service: '' }, { timeoutMs: 2_000 });
      await expect(callUnary(client.check.bind(client), { service: 'nope' }, { timeoutMs: 2_000 })).rejects.toMatchObject({ code: 5 });
    } finally {
      client.close();
    }
    const { values } = (await registry.getSingleMetric('orderflow_grpc_server_request_duration_seconds')!.get()) as {
      values: { metricName?: string; labels: Record<string, string>; value: number }[];
    };
    const counts = values.filter((v) => v.metricName?.endsWith('_count')).map((v) => `${v.labels.method} ${v.labels.code} ${v.value}`);
    expect(counts.sort()).toEqual(['/grpc.health.v1.Health/Check NOT_FOUND 1', '/grpc.health.v1.Health/Check OK 2']);
  });
});
