/** Where the integration tests find Postgres, Redis, RabbitMQ and Kafka. */
export interface TestInfra {
  databaseUrl: string;
  redisUrl: string;
  amqpUrl: string;
  kafkaBrokers: string[];
}

const VARS = ['DATABASE_URL', 'REDIS_URL', 'AMQP_URL', 'KAFKA_BROKERS'] as const;

/**
 * Reads the infrastructure from env. The jest global setup fills these in (from testcontainers when
 * Docker is available), so a missing one here means neither source was there.
 */
export function testInfra(env: NodeJS.ProcessEnv = process.env): TestInfra {
  const missing = VARS.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new Error(
      `Integration tests need ${missing.join(', ')}. Run them with \`make test\` (which starts local ` +
        'infrastructure), export the URLs of running services, or install Docker so testcontainers can start them.',
    );
  }
  return {
    databaseUrl: env.DATABASE_URL!,
    redisUrl: env.REDIS_URL!,
    amqpUrl: env.AMQP_URL!,
    kafkaBrokers: env.KAFKA_BROKERS!.split(',').map((b) => b.trim()),
  };
}
