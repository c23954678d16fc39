import type { Server } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { callUnary, createGrpcClient } from './client';
import { HealthCheckResponse, HealthCheckResponse_ServingStatus as ServingStatus, HealthClient, HealthService } from './gen/grpc/health/v1/health';
import { createHealthService, type GrpcHealth } from './health';
import { createGrpcServer, startGrpcServer, stopGrpcServer } from './server';
import { grpcStatusOf } from './status';

const ORDER_SERVICE = 'orderflow.order.v1.OrderService';

describe('grpc.health.v1 over a real port', () => {
  let server: Server;
  let health: GrpcHealth;
  let client: HealthClient;

  beforeEach(async () => {
    health = createHealthService({ '': ServingStatus.SERVING, [ORDER_SERVICE]: ServingStatus.SERVING });
    server = createGrpcServer();
    server.addService(HealthService, health.implementation);
    const port = await startGrpcServer(server, '127.0.0.1', 0);
    client = createGrpcClient(HealthClient, `127.0.0.1:${port}`);
  });

  afterEach(async () => {
    client.close();
    await stopGrpcServer(server, 1_000);
  });

  const check = (service: string) => callUnary(client.check.bind(client), { service }, { timeoutMs: 2_000 });

  test('a generated health client calls the generated health server over a real port', async () => {
    expect(await check('')).toEqual({ status: ServingStatus.SERVING });
    expect(await check(ORDER_SERVICE)).toEqual({ status: ServingStatus.SERVING });

    health.setStatus(ORDER_SERVICE, ServingStatus.NOT_SERVING);
    expect(await check(ORDER_SERVICE)).toEqual({ status: ServingStatus.NOT_SERVING });

    const unknown = await check('no.such.Service').catch((error: unknown) => error);
    expect(grpcStatusOf(unknown)).toBe(status.NOT_FOUND);
  });

  test('watch streams the current status, then each change, and ends when the health service shuts down', async () => {
    const stream = client.watch({ service: ORDER_SERVICE });
    const seen: ServingStatus[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    const next = () => new Promise<HealthCheckResponse>((resolve) => stream.once('data', resolve));

    seen.push((await next()).status);
    const flipped = next();
    health.setStatus(ORDER_SERVICE, ServingStatus.NOT_SERVING);
    seen.push((await flipped).status);
    health.shutdown();
    await ended;

    expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    expect(await check('')).toEqual({ status: ServingStatus.NOT_SERVING });
  });

  test('watch on an unknown service reports SERVICE_UNKNOWN and reports the status once it is set', async () => {
    const stream = client.watch({ service: 'later.Service' });
    const updates: ServingStatus[] = [];
    const serving = new Promise<void>((resolve) =>
      stream.on('data', ({ status: s }: HealthCheckResponse) => {
        updates.push(s);
        if (s === ServingStatus.SERVICE_UNKNOWN) health.setStatus('later.Service', ServingStatus.SERVING);
        if (s === ServingStatus.SERVING) resolve();
      }),
    );
    stream.on('error', () => undefined); // cancelling below surfaces as CANCELLED
    await serving;
    stream.cancel();

    expect(updates).toEqual([ServingStatus.SERVICE_UNKNOWN, ServingStatus.SERVING]);
  });
});
