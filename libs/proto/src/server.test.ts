import { connectivityState as ConnectivityState, type Server } from '@grpc/grpc-js';
import { waitFor } from '@orderflow/testing';
import type { Logger } from '@orderflow/platform';
import { callUnary, createGrpcClient } from './client';
import { HealthCheckResponse_ServingStatus as ServingStatus, HealthClient, HealthService, type HealthServer } from './gen/grpc/health/v1/health';
import { createHealthService } from './health';
import { createGrpcServer, startGrpcServer, stopGrpcServer } from './server';
import { toGrpcError } from './status';

describe('gRPC server lifecycle', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => stopGrpcServer(server, 1_000)));
  });

  function healthServer(): Server {
    const server = createGrpcServer();
    server.addService(HealthService, createHealthService().implementation);
    servers.push(server);
    return server;
  }

  test('port 0 binds a free port and reports it', async () => {
    const port = await startGrpcServer(healthServer(), '127.0.0.1', 0);

    expect(port).toBeGreaterThan(0);
  });

  test('starting a second server on a port already in use fails naming GRPC_PORT', async () => {
    const port = await startGrpcServer(healthServer(), '127.0.0.1', 0);
    jest.spyOn(console, 'error').mockImplementationOnce(() => undefined); // grpc-js also logs the bind failure itself

    await expect(startGrpcServer(healthServer(), '127.0.0.1', port)).rejects.toThrow(`GRPC_PORT ${port} is already in use on 127.0.0.1`);
  });

  test('ends connections at their maximum age, and the client reconnects without a failed call', async () => {
    const server = createGrpcServer({ channelOptions: { 'grpc.max_connection_age_ms': 300, 'grpc.max_connection_age_grace_ms': 1_000 } });
    server.addService(HealthService, createHealthService().implementation);
    servers.push(server);
    const client = createGrpcClient(HealthClient, `127.0.0.1:${await startGrpcServer(server, '127.0.0.1', 0)}`);
    const channel = client.getChannel();
    const states = new Set<ConnectivityState>();
    const watch = () => {
      const state = channel.getConnectivityState(false);
      states.add(state);
      if (state !== ConnectivityState.SHUTDOWN) channel.watchConnectivityState(state, Infinity, watch);
    };
    await callUnary(client.check.bind(client), { service: '' }, { timeoutMs: 2_000 });
    watch();
    states.clear(); // from READY on: only a connection the server ended can make it leave READY

    // Calls keep succeeding while the server retires the connection under them and the client reconnects.
    await waitFor(
      async () => {
        await callUnary(client.check.bind(client), { service: '' }, { timeoutMs: 2_000 });
        return states.has(ConnectivityState.IDLE) || states.has(ConnectivityState.CONNECTING) ? states : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 50, what: 'the server to end the connection at its maximum age' },
    );
    await expect(callUnary(client.check.bind(client), { service: '' }, { timeoutMs: 2_000 })).resolves.toEqual({ status: ServingStatus.SERVING });
    client.close();
  });

  test('stopping cancels a stream that outlives the drain timeout instead of hanging', async () => {
    const server = healthServer();
    const port = await startGrpcServer(server, '127.0.0.1', 0);
    const client = createGrpcClient(HealthClient, `127.0.0.1:${port}`);
    const stream = client.watch({ service: '' });
    const closed = new Promise<unknown>((resolve) => stream.on('error', resolve));
    await new Promise((resolve) => stream.once('data', resolve));

    await stopGrpcServer(server, 100);

    expect(await closed).toMatchObject({ code: expect.any(Number) });
    client.close();
  });

  test('a call that ends INTERNAL is logged as an error with its method, other calls at debug', async () => {
    const logger = { error: jest.fn(), debug: jest.fn() };
    const server = createGrpcServer({ logger: logger as unknown as Logger });
    servers.push(server);
    const failing: HealthServer = {
      check: ({ request }, callback) =>
        request.service === 'boom' ? callback(toGrpcError(new Error('db down'))) : callback(null, { status: ServingStatus.SERVING }),
      watch: (call) => call.end(),
    };
    server.addService(HealthService, failing);
    const client = createGrpcClient(HealthClient, `127.0.0.1:${await startGrpcServer(server, '127.0.0.1', 0)}`);

    await callUnary(client.check.bind(client), { service: '' }, { timeoutMs: 2_000 });
    await callUnary(client.check.bind(client), { service: 'boom' }, { timeoutMs: 2_000 }).catch(() => undefined);
    client.close();

    expect(logger.debug).toHaveBeenCalledWith(expect.objectContaining({ method: '/grpc.health.v1.Health/Check', code: 'OK' }), 'grpc call');
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ method: '/grpc.health.v1.Health/Check', code: 'INTERNAL', details: 'internal error' }),
      'grpc call failed',
    );
  });
});
