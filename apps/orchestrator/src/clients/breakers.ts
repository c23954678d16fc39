import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import { AppError } from '@orderflow/domain';
import { isRetryableGrpcError } from '@orderflow/proto';
import type { OrchestratorMetrics } from '../metrics';

export type Downstream = 'order' | 'inventory';

export interface BreakerOptions {
  /** Failure percentage within the rolling window that opens the circuit. */
  errorThresholdPercentage: number;
  /** How long the circuit stays open before one trial call (half-open). */
  resetTimeoutMs: number;
  /** Calls in the window before the percentage counts at all. */
  volumeThreshold: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { errorThresholdPercentage: 50, resetTimeoutMs: 3_000, volumeThreshold: 5 };

/**
 * One circuit breaker (opossum) per downstream service, each with its own settings. Only transient
 * failures (UNAVAILABLE, deadline exceeded…) count against it: a NOT_FOUND is an answer, not an
 * outage. While open, calls fail at once with a retryable UNAVAILABLE, so sagas back off instead of
 * piling onto a dead service.
 */
export function createBreakers(options: Record<Downstream, BreakerOptions>, logger: Logger, metrics?: OrchestratorMetrics) {
  const STATE = { closed: 0, halfOpen: 1, open: 2 } as const;
  const make = (name: Downstream) => {
    const breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
      name,
      timeout: false, // every gRPC call carries its own deadline
      errorThresholdPercentage: options[name].errorThresholdPercentage,
      resetTimeout: options[name].resetTimeoutMs,
      volumeThreshold: options[name].volumeThreshold,
      errorFilter: (error: unknown) => !isRetryableGrpcError(error),
    });
    const track = (state: keyof typeof STATE) => () => {
      metrics?.breakerState.set({ downstream: name }, STATE[state]);
      metrics?.breakerTransitions.inc({ downstream: name, state });
      logger[state === 'open' ? 'warn' : 'info']({ downstream: name, state }, `circuit ${state}`);
    };
    breaker.on('open', track('open'));
    breaker.on('halfOpen', track('halfOpen'));
    breaker.on('close', track('closed'));
    metrics?.breakerState.set({ downstream: name }, STATE.closed);
    return breaker;
  };
  const breakers: Record<Downstream, CircuitBreaker> = { order: make('order'), inventory: make('inventory') };

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
    /** Each breaker's state, for GET /status. */
    states(): { name: string; state: 'closed' | 'halfOpen' | 'open' }[] {
      return Object.entries(breakers).map(([name, b]) => ({ name, state: b.opened ? 'open' : b.halfOpen ? 'halfOpen' : 'closed' }));
    },
    shutdown() {
      for (const breaker of Object.values(breakers)) breaker.shutdown();
    },
  };
}
