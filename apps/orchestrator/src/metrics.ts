import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { cachedCollect } from '@orderflow/platform';

/** The `state` label values of `orderflow_circuit_breaker_state` and `orderflow_circuit_breaker_transitions_total`. */
export const BREAKER_STATES = ['closed', 'half_open', 'open'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

/**
 * The orchestrator's business and resilience metrics, on the registry `/metrics` serves.
 * `sagasInFlight` counts unfinished sagas in Postgres when scraped.
 */
export function createOrchestratorMetrics(registry: Registry, sources: { sagasInFlight?: () => Promise<number> } = {}) {
  const registers = [registry];
  if (sources.sagasInFlight) {
    const read = cachedCollect(sources.sagasInFlight, { ttlMs: 1_000 });
    new Gauge({
      name: 'orderflow_sagas_in_flight',
      help: 'Sagas not finished yet (running, waiting for a retry, or compensating)',
      registers,
      async collect() {
        const n = await read();
        if (n !== undefined) this.set(n);
      },
    });
  }
  const ordersByOutcome = new Counter({
    name: 'orderflow_orders_total',
    help: 'Orders by outcome (placed, confirmed, rejected, cancelled)',
    labelNames: ['outcome'],
    registers,
  });
  for (const outcome of ['placed', 'confirmed', 'rejected', 'cancelled']) ordersByOutcome.inc({ outcome }, 0);
  // Every series from the start at 0, so an alert's increase() sees the first dead letter too.
  const deadLetters = new Counter({ name: 'orderflow_dead_letters_total', help: 'Dead letters recorded, by source', labelNames: ['source'], registers });
  for (const source of ['saga', 'kafka', 'rabbitmq']) deadLetters.inc({ source }, 0);
  const deadLettersUnrecordable = new Counter({
    name: 'orderflow_dead_letters_unrecordable_total',
    help: 'Dead letters Postgres refused as received: kept as a placeholder row, or (not even that) skipped, by source and outcome',
    labelNames: ['source', 'outcome'],
    registers,
  });
  const sagaDuration = new Histogram({
    name: 'orderflow_saga_duration_seconds',
    help: 'Time from order placed to saga end, by outcome (confirmed, rejected, cancelled) and state (completed, failed)',
    labelNames: ['outcome', 'state'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const breakerState = new Gauge({
    name: 'orderflow_circuit_breaker_state',
    help: 'Circuit breaker per downstream: 1 on the series of the state it is in (closed, half_open, open), 0 on the others',
    labelNames: ['downstream', 'state'],
    registers,
  });
  return {
    ordersByOutcome,
    sagaDuration,
    /**
     * A saga ended: `orderflow_orders_total{outcome}` and `orderflow_saga_duration_seconds{outcome,state}`.
     * Label values are lower case; sagas store theirs in upper case (CONFIRMED, FAILED).
     */
    sagaFinished(outcome: string, state: string, seconds: number) {
      const lower = outcome.toLowerCase();
      ordersByOutcome.inc({ outcome: lower });
      sagaDuration.observe({ outcome: lower, state: state.toLowerCase() }, seconds);
    },
    sagaRetries: new Counter({
      name: 'orderflow_saga_step_retries_total',
      help: 'Saga step attempts that failed transiently and were rescheduled',
      labelNames: ['step'],
      registers,
    }),
    deadLetters,
    deadLettersUnrecordable,
    breakerState,
    /** The breaker towards `downstream` is now in `state`: that state's series 1, the others 0. */
    setBreakerState(downstream: string, state: BreakerState) {
      for (const s of BREAKER_STATES) breakerState.set({ downstream, state: s }, s === state ? 1 : 0);
    },
    rateLimiterErrors: new Counter({
      name: 'orderflow_rate_limiter_errors_total',
      help: 'Requests let through because the rate limiter (Redis) could not decide',
      registers,
    }),
    breakerTransitions: new Counter({
      name: 'orderflow_circuit_breaker_transitions_total',
      help: 'Circuit breaker state changes, by downstream and the state entered',
      labelNames: ['downstream', 'state'],
      registers,
    }),
  };
}

export type OrchestratorMetrics = ReturnType<typeof createOrchestratorMetrics>;
