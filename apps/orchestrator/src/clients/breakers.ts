import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import { AppError } from '@orderflow/domain';
import { isRetryableGrpcError } from '@orderflow/proto';
import type { OrchestratorMetrics } from '../metrics';

export type Downstream = 'order' | 'inventory';
/** Everything behind a breaker: the gRPC downstreams and Redis. */
export type Guarded = Downstream | 'redis';
/** Runs a call to Redis behind its breaker (`breakers.redis`): bounded by one command timeout, failing fast while open. */
export type RedisGuard = <T>(call: () => Promise<T>) => Promise<T>;

export interface BreakerOptions {
  /** Failure percentage within the rolling window that opens the circuit. */
  errorThresholdPercentage: number;
  /** How long the circuit stays open before one trial call (half-open). */
  resetTimeoutMs: number;
  /** Calls in the window before the percentage counts at all. */
  volumeThreshold: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { errorThresholdPercentage: 50, resetTimeoutMs: 3_000, volumeThreshold: 5 };

export interface RedisBreakerOptions extends BreakerOptions {
  /** Longest one guarded call may take (REDIS_COMMAND_TIMEOUT_MS); a call that takes it opens the circuit. */
  timeoutMs: number;
}

/** A command that timed out: ioredis' own `commandTimeout`, or the breaker's bound on the whole call. */
const isTimeout = (error: unknown) => error instanceof Error && (error.message === 'Command timed out' || (error as { code?: string }).code === 'ETIMEDOUT');

/**
 * One circuit breaker (opossum) per downstream service and one for Redis, each with its own settings.
 * Only transient gRPC failures (UNAVAILABLE, deadline exceeded…) count against a service: a NOT_FOUND
 * is an answer, not an outage. While open, calls fail at once with a retryable UNAVAILABLE, so sagas
 * back off instead of piling onto a dead service. Redis opens at its first timeout (see `redis`).
 */
export function createBreakers(options: Record<Downstream, BreakerOptions> & { redis: RedisBreakerOptions }, logger: Logger, metrics?: OrchestratorMetrics) {
  // opossum's event names to the metrics' state label values.
  const STATE = { closed: 'closed', halfOpen: 'half_open', open: 'open' } as const;
  const make = (name: Guarded, timeout: number | false, isFailure: (error: unknown) => boolean) => {
    const breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
      name,
      timeout,
      errorThresholdPercentage: options[name].errorThresholdPercentage,
      resetTimeout: options[name].resetTimeoutMs,
      volumeThreshold: options[name].volumeThreshold,
      errorFilter: (error: unknown) => !isFailure(error),
    });
    const track = (state: keyof typeof STATE) => () => {
      metrics?.setBreakerState(name, STATE[state]);
      metrics?.breakerTransitions.inc({ downstream: name, state: STATE[state] });
      logger[state === 'open' ? 'warn' : 'info']({ downstream: name, state }, `circuit ${state}`);
    };
    breaker.on('open', track('open'));
    breaker.on('halfOpen', track('halfOpen'));
    breaker.on('close', track('closed'));
    metrics?.setBreakerState(name, STATE.closed);
    return breaker;
  };
  const breakers: Record<Guarded, CircuitBreaker> = {
    // Every gRPC call carries its own deadline.
    order: make('order', false, isRetryableGrpcError),
    inventory: make('inventory', false, isRetryableGrpcError),
    // Only errors count (a rejected promise that is not an Error would be an answer, not a failure).
    redis: make('redis', options.redis.timeoutMs, (error) => error instanceof Error),
  };
  // A frozen Redis keeps its connection 'ready', so every command would wait out its timeout; the
  // first one that does opens the circuit, and later calls fail at once until a trial call answers.
  breakers.redis.on('timeout', () => breakers.redis.open());
  breakers.redis.on('failure', (error: unknown) => isTimeout(error) && breakers.redis.open());

  return {
    async wrap<T>(service: Downstream, call: () => Promise<T>): Promise<T> {
      try {
        return (await breakers[service].fire(call)) as T;
      } catch (error) {
        if ((error as { code?: string }).code === 'EOPENBREAKER') {
          throw new AppError('UNAVAILABLE', `${service} service circuit is open`, { retryable: true, cause: error, details: { circuitOpen: true } });
        }
        throw error;
      }
    },
    /**
     * Runs Redis commands behind the Redis breaker: the whole call is bounded by one command timeout,
     * and while the circuit is open it fails at once (callers fall back: read through, let through).
     */
    redis<T>(call: () => Promise<T>): Promise<T> {
      return breakers.redis.fire(call) as Promise<T>;
    },
    /** Each breaker's state, for GET /status. */
    states(): { name: string; state: 'closed' | 'halfOpen' | 'open' }[] {
      return Object.entries(breakers).map(([name, b]) => ({ name, state: b.opened ? 'open' : b.halfOpen ? 'halfOpen' : 'closed' }));
    },
    shutdown() {
      for (const breaker of Object.values(breakers)) breaker.shutdown();
    },
  };
}
