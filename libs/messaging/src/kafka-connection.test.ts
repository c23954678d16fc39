// KAFKA_SSL must reach every Kafka client a process builds, not only the main one: a health check or
// lag gauge left on plaintext would report a TLS-only cluster as down. A listening socket that records
// the first bytes each client sends tells a TLS ClientHello (0x16 0x03) from a plaintext Kafka request.
import { createServer, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { waitFor } from '@orderflow/testing';
import { createKafka, kafkaConnection, kafkaHealthCheck } from './kafka';
import { registerConsumerLagMetrics } from './metrics';

type Greeting = 'tls' | 'kafka-plaintext' | 'other';

// A listener per test: a client of an earlier test still retrying in the background (the lag gauge
// retries) must not be taken for the greeting of the next one.
let server: Server;
let broker: string;
let greetings: Greeting[];
const sockets = new Set<Socket>();

beforeEach(async () => {
  const heard: Greeting[] = (greetings = []);
  server = createServer((socket) => {
    sockets.add(socket);
    socket.once('data', (bytes: Buffer) => {
      const apiKey = bytes.length >= 6 ? bytes.readInt16BE(4) : -1;
      heard.push(bytes[0] === 0x16 && bytes[1] === 0x03 ? 'tls' : apiKey === 18 /* ApiVersions */ ? 'kafka-plaintext' : 'other');
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  broker = `127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterEach(async () => {
  for (const socket of sockets) socket.destroy(); // a client that connected and said nothing yet
  sockets.clear();
  await new Promise((resolve) => server.close(resolve));
});

const connection = (ssl: boolean) =>
  kafkaConnection({ KAFKA_BROKERS: [broker], KAFKA_SSL: ssl, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' });

const firstGreeting = () => waitFor(() => greetings[0], { what: 'the client to connect' });

describe.each([
  [true, 'tls'],
  [false, 'kafka-plaintext'],
] as const)('with KAFKA_SSL=%s every client speaks %s', (ssl, expected) => {
  it('the producers and consumers’ client', async () => {
    const admin = createKafka({ ...connection(ssl), clientId: 'conn-test', retry: { retries: 0 }, logger: pino({ level: 'silent' }) }).admin();
    await expect(admin.connect()).rejects.toThrow();
    expect(await firstGreeting()).toBe(expected);
  });

  it('the health check', async () => {
    const check = kafkaHealthCheck(connection(ssl), 1_000);
    await expect(check.check()).rejects.toThrow();
    await check.close();
    expect(await firstGreeting()).toBe(expected);
  });

  it('the consumer-lag gauge', async () => {
    const registry = new Registry();
    const lag = registerConsumerLagMetrics(registry, {
      ...connection(ssl),
      clientId: 'conn-test',
      groups: [{ groupId: 'g', topics: ['t'] }],
      timeoutMs: 1_000,
    });
    try {
      await registry.metrics().catch(() => undefined);
      expect(await firstGreeting()).toBe(expected);
    } finally {
      await lag.close();
    }
  });
});
