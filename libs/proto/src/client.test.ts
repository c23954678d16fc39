import { freePort } from '@orderflow/testing';
import type { Server } from '@grpc/grpc-js';
import { grpcHealthCheck } from './client';
import { HealthCheckResponse_ServingStatus as ServingStatus, HealthService } from './gen/grpc/health/v1/health';
import { createHealthService } from './health';
import { createGrpcServer, startGrpcServer, stopGrpcServer } from './server';

describe('grpcHealthCheck', () => {
  let server: Server | undefined;
  afterEach(async () => {
    if (server) await stopGrpcServer(server, 1_000);
    server = undefined;
  });

  async function startHealthServer(status: ServingStatus): Promise<string> {
    const health = createHealthService({ '': status });
    server = createGrpcServer();
    server.addService(HealthService, health.implementation);
    return `127.0.0.1:${await startGrpcServer(server, '127.0.0.1', 0)}`;
  }

  test('resolves for a running server that reports SERVING', async () => {
    const address = await startHealthServer(ServingStatus.SERVING);
    const check = grpcHealthCheck('grpc:order', address);

    expect(check.name).toBe('grpc:order');
    await expect(check.check()).resolves.toBeUndefined();
  });

  test('rejects naming the status when the server reports NOT_SERVING', async () => {
    const address = await startHealthServer(ServingStatus.NOT_SERVING);

    await expect(grpcHealthCheck('grpc:order', address).check()).rejects.toThrow(`grpc:order at ${address} is NOT_SERVING`);
  });

  test('rejects with a clear message, within its deadline, when nothing listens at the address', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const started = Date.now();

    await expect(grpcHealthCheck('grpc:inventory', address, { timeoutMs: 500 }).check()).rejects.toThrow(
      new RegExp(`^grpc:inventory at ${address} did not answer its health check: \\d+ (UNAVAILABLE|DEADLINE_EXCEEDED)`),
    );
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});
