import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { cachedCollect } from '@orderflow/platform';

/**
 * The orchestrator's business and resilience metrics, on the registry `/metrics` serves.
 * `sagasInFlight` counts unfinished sagas in Postgres when scraped.
 */
export function createOrchestratorMetrics(registry: Registry, sources: { sagasInFlight?: () => Promise<number> } = {}) {
  const registers = [registry];
  if (sources.sagasInFlight) {
    const read = cachedCollect(sources.sagasInFlight, { ttlMs: 1_000 });
    new Gauge({
      name: 'sagas_in_flight',
      help: 'Sagas not finished yet (running, waiting for a retry, or compensating)',
      registers,
      async collect() {
        const n = await read();
        if (n !== undefined) this.set(n);
      },
    });
  }
  const ordersByOutcome = new Counter({ name: 'orders_total', help: 'Orders by outcome (placed, CONFIRMED, REJECTED, CANCELLED)', labelNames: ['outcome'], registers });
  for (const outcome of ['placed', 'CONFIRMED', 'REJECTED', 'CANCELLED']) ordersByOutcome.inc({ outcome }, 0);
  // Every series from the start at 0, so an alert's increase() sees the first dead letter too.
  const deadLetters = new Counter({ name: 'dead_letters_total', help: 'Dead letters recorded, by source', labelNames: ['source'], registers });
  for (const source of ['saga', 'kafka', 'rabbitmq']) deadLetters.inc({ source }, 0);
  const deadLettersUnrecordable = new Counter({
    name: 'dead_letters_unrecordable_total',
    help: 'Dead letters Postgres refused as received: kept as a placeholder row, or (not even that) skipped, by source and outcome',
    labelNames: ['source', 'outcome'],
    registers,
  });
  return {
    ordersByOutcome,
    sagaDuration: new Histogram({
      name: 'saga_duration_seconds',
      help: 'Time from order placed to saga end, by outcome',
      labelNames: ['outcome', 'state'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    sagaRetries: new Counter({ name: 'saga_step_retries_total', help: 'Saga step attempts that failed transiently and were rescheduled', labelNames: ['step'], registers }),
    deadLetters,
    deadLettersUnrecordable,
    breakerState: new Gauge({ name: 'circuit_breaker_state', help: 'Circuit breaker per downstream: 0 closed, 1 half-open, 2 open', labelNames: ['downstream'], registers }),
    rateLimiterErrors: new Counter({ name: 'rate_limiter_errors_total', help: 'Requests let through because the rate limiter (Redis) could not decide', registers }),
    breakerTransitions: new Counter({ name: 'circuit_breaker_transitions_total', help: 'Circuit breaker state changes', labelNames: ['downstream', 'state'], registers }),
  };
}

export type OrchestratorMetrics = ReturnType<typeof createOrchestratorMetrics>;
