import { loadOrchestratorConfig, trustProxySetting } from './config';
import { kafkaConnection } from '@orderflow/messaging';

describe('orchestrator config', () => {
  const secret = 'a-real-secret-of-at-least-32-characters!';

  it('needs a JWT_SECRET or a JWT_PUBLIC_KEY', () => {
    expect(() => loadOrchestratorConfig({})).toThrow(/JWT_SECRET: set JWT_SECRET \(HS256\), JWT_PUBLIC_KEY \(RS256, ES256\) or JWT_JWKS_URL/);
    expect(loadOrchestratorConfig({ JWT_SECRET: secret }).JWT_SECRET).toBe(secret);
  });

  it('needs JWT_ISSUER and JWT_AUDIENCE with a public key or a JWKS URL, and takes only one source of keys', () => {
    const jwks = 'https://idp.example/.well-known/jwks.json';
    expect(() => loadOrchestratorConfig({ JWT_JWKS_URL: jwks })).toThrow(/JWT_ISSUER: is required with JWT_PUBLIC_KEY or JWT_JWKS_URL/);
    expect(() => loadOrchestratorConfig({ JWT_JWKS_URL: jwks, JWT_ISSUER: 'https://idp.example/' })).toThrow(/JWT_AUDIENCE: is required/);
    expect(() => loadOrchestratorConfig({ JWT_PUBLIC_KEY: 'pem', JWT_AUDIENCE: 'orderflow' })).toThrow(/JWT_ISSUER: is required/);
    expect(() => loadOrchestratorConfig({ JWT_JWKS_URL: jwks, JWT_SECRET: secret, JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' })).toThrow(/only one of/);
    expect(() => loadOrchestratorConfig({ JWT_JWKS_URL: 'ftp://idp', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' })).toThrow(/JWT_JWKS_URL: must be an http\(s\) URL/);
    expect(loadOrchestratorConfig({ JWT_JWKS_URL: jwks, JWT_ISSUER: 'https://idp.example/', JWT_AUDIENCE: 'orderflow' }).JWT_JWKS_URL).toBe(jwks);
  });

  it('reads TRUST_PROXY as a boolean, a hop count or a list of proxies, and refuses anything else naming it', () => {
    expect(loadOrchestratorConfig({ JWT_SECRET: secret }).TRUST_PROXY).toBe('false');
    expect(trustProxySetting('true')).toBe(true);
    expect(trustProxySetting('2')).toBe(2);
    expect(trustProxySetting('10.0.0.0/8, loopback')).toEqual(['10.0.0.0/8', 'loopback']);
    expect(() => loadOrchestratorConfig({ JWT_SECRET: secret, TRUST_PROXY: 'yes please' })).toThrow(/TRUST_PROXY: must be true, false/);
  });

  it('defaults the partner limits to 1,000 a minute per address, 100 a minute per API key, a burst of 10 a second, and webhooks to public addresses only', () => {
    expect(loadOrchestratorConfig({ JWT_SECRET: secret })).toMatchObject({
      RATE_LIMIT_PER_IP_PER_MINUTE: 1_000,
      API_KEY_RATE_PER_MINUTE: 100,
      RATE_LIMIT_BURST_PER_SECOND: 10,
      WEBHOOK_ALLOW_PRIVATE: false,
    });
  });

  it('refuses a short secret', () => {
    expect(() => loadOrchestratorConfig({ JWT_SECRET: 'short' })).toThrow(/at least 32 characters/);
  });

  it('refuses the published development secret unless told it is a dev machine', () => {
    const dev = 'dev-only-secret-change-me-0123456789abcdef';
    expect(() => loadOrchestratorConfig({ JWT_SECRET: dev })).toThrow(/public development secret/);
    expect(loadOrchestratorConfig({ JWT_SECRET: dev, ALLOW_DEV_SECRET: 'true' }).JWT_SECRET).toBe(dev);
  });

  it('refuses to start when IDEMPOTENCY_TTL_HOURS does not exceed IDEMPOTENCY_LOCK_SECONDS, naming both', () => {
    const refusal = /IDEMPOTENCY_TTL_HOURS: must exceed IDEMPOTENCY_LOCK_SECONDS/;
    expect(() => loadOrchestratorConfig({ JWT_SECRET: secret, IDEMPOTENCY_TTL_HOURS: '0.001', IDEMPOTENCY_LOCK_SECONDS: '10' })).toThrow(refusal);
    expect(() => loadOrchestratorConfig({ JWT_SECRET: secret, IDEMPOTENCY_TTL_HOURS: '0.001', IDEMPOTENCY_LOCK_SECONDS: '4' })).toThrow(refusal);
    expect(loadOrchestratorConfig({ JWT_SECRET: secret, IDEMPOTENCY_TTL_HOURS: '0.001', IDEMPOTENCY_LOCK_SECONDS: '3' })).toMatchObject({
      IDEMPOTENCY_TTL_HOURS: 0.001,
      IDEMPOTENCY_LOCK_SECONDS: 3,
    });
  });
});

describe('Kafka connection settings', () => {
  const secret = 'a-real-secret-of-at-least-32-characters!';

  it('default to plain TCP without authentication and 3 partitions', () => {
    const config = loadOrchestratorConfig({ JWT_SECRET: secret });
    expect(kafkaConnection(config)).toEqual({ brokers: ['127.0.0.1:9092'] });
    expect(config.KAFKA_TOPIC_PARTITIONS).toBe(3);
  });

  it('turn on TLS and SASL for a managed cluster', () => {
    const config = loadOrchestratorConfig({
      JWT_SECRET: secret,
      KAFKA_BROKERS: 'b-1.kafka.example:9096,b-2.kafka.example:9096',
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'orderflow',
      KAFKA_SASL_PASSWORD: 'pw',
      KAFKA_TOPIC_PARTITIONS: '12',
    });
    expect(kafkaConnection(config)).toEqual({
      brokers: ['b-1.kafka.example:9096', 'b-2.kafka.example:9096'],
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'orderflow', password: 'pw' },
    });
    expect(config.KAFKA_TOPIC_PARTITIONS).toBe(12);
  });

  it('refuse a SASL mechanism without both credentials, an unknown mechanism and a non-boolean KAFKA_SSL, naming the variable', () => {
    expect(() => loadOrchestratorConfig({ JWT_SECRET: secret, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' })).toThrow(
      /KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set/,
    );
    expect(() => loadOrchestratorConfig({ JWT_SECRET: secret, KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(
      /KAFKA_SASL_MECHANISM: expected one of plain, scram-sha-256, scram-sha-512/,
    );
    expect(() => loadOrchestratorConfig({ JWT_SECRET: secret, KAFKA_SSL: 'yes' })).toThrow(/KAFKA_SSL: expected true or false/);
  });
});

describe('Redis bounds', () => {
  const secret = 'a-real-secret-of-at-least-32-characters!';

  it('default to a 500 ms command timeout and a 2 s breaker reset, and refuse a timeout that is not positive', () => {
    expect(loadOrchestratorConfig({ JWT_SECRET: secret })).toMatchObject({ REDIS_COMMAND_TIMEOUT_MS: 500, REDIS_BREAKER_RESET_MS: 2_000 });
    expect(() => loadOrchestratorConfig({ JWT_SECRET: secret, REDIS_COMMAND_TIMEOUT_MS: '0' })).toThrow(
      /REDIS_COMMAND_TIMEOUT_MS: expected an integer 1-60000/,
    );
    expect(() => loadOrchestratorConfig({ JWT_SECRET: secret, REDIS_COMMAND_TIMEOUT_MS: '-5' })).toThrow(/REDIS_COMMAND_TIMEOUT_MS/);
  });
});
