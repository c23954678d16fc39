import { parseEnv, env } from './env';

describe('parseEnv', () => {
  const shape = { HTTP_PORT: env.port(8080, 'port'), KAFKA_BROKERS: env.brokers('127.0.0.1:9092', 'brokers') };

  it('applies defaults when variables are unset', () => {
    expect(parseEnv(shape, {})).toEqual({ HTTP_PORT: 8080, KAFKA_BROKERS: ['127.0.0.1:9092'] });
  });

  it('names the variable and the bad value when one is invalid', () => {
    expect(() => parseEnv(shape, { HTTP_PORT: 'abc' })).toThrow(/HTTP_PORT: .*"abc"/);
    expect(() => parseEnv(shape, { HTTP_PORT: '70000' })).toThrow(/HTTP_PORT: expected a port 0-65535/);
    expect(() => parseEnv(shape, { KAFKA_BROKERS: 'nope' })).toThrow(/KAFKA_BROKERS: expected host:port/);
  });

  it('rejects a URL with the wrong scheme', () => {
    const urlShape = { DATABASE_URL: env.url('postgres://x/y', ['postgres'], 'db') };
    expect(() => parseEnv(urlShape, { DATABASE_URL: 'mysql://x/y' })).toThrow(/DATABASE_URL: expected a URL starting with postgres:\/\//);
  });
});
