import { z } from 'zod';
import { parseEnv, env, redactSecrets } from './env';
import { commonEnv, amqpEnv, kafkaEnv } from './common';

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

describe('config errors hide secrets', () => {
  const message = (load: () => unknown) => {
    try {
      load();
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('expected the config to be refused');
  };

  it('names an invalid DATABASE_URL without its password', () => {
    const text = message(() => parseEnv(commonEnv, { DATABASE_URL: 'postgres://u:s3cret@host:notaport/db' }));
    expect(text).toMatch(/DATABASE_URL: expected a URL starting with postgres:\/\//);
    expect(text).toContain('postgres://u:***@host:notaport/db');
    expect(text).not.toContain('s3cret');
  });

  it('names an invalid AMQP_URL without its password, even one with an unescaped @ or /', () => {
    const text = message(() => parseEnv(amqpEnv, { AMQP_URL: 'http://guest:pa@ss/w0rd@rabbit:5672' }));
    expect(text).toMatch(/AMQP_URL: expected a URL starting with amqp:\/\//);
    expect(text).not.toMatch(/pa@ss|w0rd/);
  });

  it('never echoes the value of a variable whose name says SECRET, PASSWORD, KEY or TOKEN', () => {
    const shape = {
      JWT_SECRET: z.string().min(32, 'must be at least 32 characters').describe('secret'),
      KAFKA_SASL_PASSWORD: kafkaEnv.KAFKA_SASL_PASSWORD.pipe(z.string().max(8, 'expected at most 8 characters')),
      API_KEY: z.enum(['a', 'b']).describe('zod echoes the received value in its own enum message'),
      ADMIN_TOKEN: env.int(1, 0, 10, 'token'),
    };
    const secrets = { JWT_SECRET: 'short-s3cret', KAFKA_SASL_PASSWORD: 'hunter2-sasl-p4ss', API_KEY: 'sk-live-abcdef', ADMIN_TOKEN: 'tok-123456' };
    const text = message(() => parseEnv(shape, secrets));
    for (const name of Object.keys(secrets)) expect(text).toMatch(new RegExp(`${name}: .*\\(its value is not shown\\)`));
    for (const value of Object.values(secrets)) expect(text).not.toContain(value);
  });

  it('redactSecrets masks URL passwords and secret variables in any message, and leaves the rest', () => {
    const env = { SMTP_PASSWORD: 'm41l-pass', HTTP_PORT: '8080' };
    expect(redactSecrets('smtp://me:m41l-pass@mail:25 and redis://cache:6379 and amqp://guest@rabbit, port 8080', env)).toBe(
      'smtp://me:***@mail:25 and redis://cache:6379 and amqp://guest@rabbit, port 8080',
    );
    expect(redactSecrets('the password m41l-pass is wrong', env)).toBe('the password *** is wrong');
  });
});
