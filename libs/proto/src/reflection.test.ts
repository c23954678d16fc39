// The reflection service every app's gRPC server offers (serveGrpc), asked the way grpcurl asks it.
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import pino from 'pino';
import { Registry } from 'prom-client';
import { OrderServiceService } from './gen/orderflow/order/v1/order';
import { serveGrpc, type RunningGrpcService } from './server';

let running: RunningGrpcService;

beforeAll(async () => {
  running = await serveGrpc({
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    host: '127.0.0.1',
    port: 0,
    protoFiles: ['orderflow/order/v1/order.proto'],
    register: (server) => server.addService(OrderServiceService, {} as grpc.UntypedServiceImplementation),
  });
});
afterAll(() => running.stop(1_000));

/** One ServerReflectionInfo exchange over grpc.reflection.v1, as `grpcurl list` / `describe` send it. */
function ask(request: Record<string, string>): Promise<Record<string, any>> {
  const reflectionProto = join(require.resolve('@grpc/reflection/package.json'), '..', 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto');
  const definition = grpc.loadPackageDefinition(loadSync(reflectionProto, { keepCase: true })) as any;
  const client = new definition.grpc.reflection.v1.ServerReflection(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo();
    call.on('data', (response: Record<string, any>) => {
      resolve(response);
      call.end();
    });
    call.on('error', reject);
    call.write(request);
  }).finally(() => client.close()) as Promise<Record<string, any>>;
}

describe('gRPC reflection', () => {
  it('lists the app service and health, as grpcurl list shows them', async () => {
    const response = await ask({ list_services: '' });
    expect(response.list_services_response.service.map((s: { name: string }) => s.name).sort()).toEqual([
      'grpc.health.v1.Health',
      'orderflow.order.v1.OrderService',
    ]);
  });

  it('describes a service from its .proto, as grpcurl describe needs', async () => {
    const response = await ask({ file_containing_symbol: 'orderflow.order.v1.OrderService' });
    expect(response.file_descriptor_response.file_descriptor_proto.length).toBeGreaterThan(0);
    expect(Buffer.concat(response.file_descriptor_response.file_descriptor_proto).toString('latin1')).toContain('CreateOrder');
  });
});
