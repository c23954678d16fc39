import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@orderflow/config';
import { testInfra } from '@orderflow/testing';

/**
 * One built app as a child process with exactly the env given (plus PATH and the infrastructure URLs,
 * and a free ops port for the orchestrator unless `OPS_PORT` is given: its default 8084 would clash).
 */
export function spawnApp(app: string, env: Record<string, string>) {
  const infra = testInfra();
  const child = spawn(process.execPath, [join(repoRoot(), 'dist', app, 'main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: infra.databaseUrl,
      REDIS_URL: infra.redisUrl,
      AMQP_URL: infra.amqpUrl,
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      JWT_SECRET: 'e2e-secret-0123456789abcdef0123456789',
      HTTP_HOST: '127.0.0.1',
      GRPC_HOST: '127.0.0.1',
      // Tests call from one address in quick succession; the limits have their own tests (which set them).
      ...(app === 'orchestrator' ? { OPS_PORT: '0', RATE_LIMIT_BURST_PER_SECOND: '1000000', RATE_LIMIT_PER_IP_PER_MINUTE: '100000000' } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
