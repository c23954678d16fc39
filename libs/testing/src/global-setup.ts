import { execFileSync } from 'node:child_process';

type Started = { stop(): Promise<unknown> };
declare global {
  var __orderflowContainers: Started[] | undefined;
}

function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Jest global setup: when an infrastructure URL is unset and Docker answers, start that service with
 * testcontainers and export its URL for every worker. With the URLs set (make test, CI) it does nothing.
 */
export default async function globalSetup(): Promise<void> {
  const unset = ['DATABASE_URL', 'REDIS_URL', 'AMQP_URL', 'KAFKA_BROKERS'].filter((name) => !process.env[name]);
  if (unset.length === 0 || !dockerAvailable()) return; // testInfra() explains what is missing, per test.

  const { GenericContainer, Wait } = await import('testcontainers');
  const started: Started[] = [];
  if (!process.env.DATABASE_URL) {
    const pg = await new GenericContainer('postgres:15-alpine')
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    started.push(pg);
    process.env.DATABASE_URL = `postgres://postgres@${pg.getHost()}:${pg.getMappedPort(5432)}/postgres`;
  }
  if (!process.env.REDIS_URL) {
    const redis = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
    started.push(redis);
    process.env.REDIS_URL = `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`;
  }
  if (!process.env.AMQP_URL) {
    const rabbit = await new GenericContainer('rabbitmq:3.13-alpine')
      .withExposedPorts(5672)
      .withWaitStrategy(Wait.forLogMessage(/Server startup complete/))
      .start();
    started.push(rabbit);
    process.env.AMQP_URL = `amqp://guest:guest@${rabbit.getHost()}:${rabbit.getMappedPort(5672)}`;
  }
  if (!process.env.KAFKA_BROKERS) {
    // Fixed host port: a KRaft broker must advertise the address clients dial.
    const kafka = await new GenericContainer('apache/kafka:3.9.1')
      .withExposedPorts({ container: 9092, host: 19092 })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://localhost:19092',
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start();
    started.push(kafka);
    process.env.KAFKA_BROKERS = 'localhost:19092';
  }
  globalThis.__orderflowContainers = started;
}
