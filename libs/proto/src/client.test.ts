import { freePort, waitFor } from '@orderflow/testing';
import type { Server } from '@grpc/grpc-js';
import { grpcHealthCheck } from './client';
import { HealthCheckResponse_ServingStatus as ServingStatus, HealthService } from './gen/grpc/health/v1/health';
import { createHealthService } from './health';
import { createGrpcServer, startGrpcServer, stopGrpcServer } from './server';

describe('grpcHealthCheck', () => {
  let server: Server | undefined;
  const checks: ReturnType<typeof grpcHealthCheck>[] = [];
  const healthCheck = (...args: Parameters<typeof grpcHealthCheck>) => {
    const check = grpcHealthCheck(...args);
    checks.push(check);
    return check;
  };
  afterEach(async () => {
    for (const check of checks.splice(0)) check.close();
    if (server) await stopGrpcServer(server, 1_000);
    server = undefined;
  });

  async function startHealthServer(status: ServingStatus, port = 0): Promise<string> {
    const health = createHealthService({ '': status });
    server = createGrpcServer();
    server.addService(HealthService, health.implementation);
    return `127.0.0.1:${await startGrpcServer(server, '127.0.0.1', port)}`;
  }

  test('resolves for a running server that reports SERVING', async () => {
    const address = await startHealthServer(ServingStatus.SERVING);
    const check = healthCheck('grpc:order', address);

    expect(check.name).toBe('grpc:order');
    await expect(check.check()).resolves.toBeUndefined();
  });

  test('rejects naming the status when the server reports NOT_SERVING', async () => {
    const address = await startHealthServer(ServingStatus.NOT_SERVING);

    await expect(healthCheck('grpc:order', address).check()).rejects.toThrow(`grpc:order at ${address} is NOT_SERVING`);
  });

  test('rejects with a clear message, within its deadline, when nothing listens at the address', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const started = Date.now();

    await expect(healthCheck('grpc:inventory', address, { timeoutMs: 500 }).check()).rejects.toThrow(
      new RegExp(`^grpc:inventory at ${address} did not answer its health check: \\d+ (UNAVAILABLE|DEADLINE_EXCEEDED)`),
    );
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  test('passes again on its long-lived channel once a server comes up at the address', async () => {
    const port = await freePort();
    const check = healthCheck('grpc:order', `127.0.0.1:${port}`, { timeoutMs: 500 });
    await expect(check.check()).rejects.toThrow(/did not answer its health check/);

    await startHealthServer(ServingStatus.SERVING, port);
    await waitFor(
      () =>
        check.check().then(
          () => true,
          () => false,
        ),
      { timeoutMs: 10_000, intervalMs: 200, what: 'the check to pass once the server listens' },
    );
  });
});
