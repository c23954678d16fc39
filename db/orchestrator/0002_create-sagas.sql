-- Up Migration
-- Saga state lives here, not in memory, so any runner can resume any saga at its current step.
-- Every change is guarded by `version` (optimistic concurrency): if two runners race, one commits
-- and the other reloads, so a saga's outcome and its facts are recorded exactly once.
CREATE TABLE sagas (
  order_id          uuid        PRIMARY KEY,
  customer_id       text        NOT NULL,
  state             text        NOT NULL CHECK (state IN ('RUNNING', 'COMPENSATING', 'COMPLETED', 'FAILED')),
  step              text        NOT NULL,
  attempts          integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- When a runner should look at the saga next: a retry's backoff, or a watchdog deadline while a
  -- step is under way (so a saga whose runner died is resumed). NULL once the saga has ended.
  next_attempt_at   timestamptz,
  -- Compensations registered so far, newest last; they run in reverse.
  compensations     jsonb       NOT NULL DEFAULT '[]',
  cancel_requested  boolean     NOT NULL DEFAULT false,
  data              jsonb       NOT NULL,
  outcome           text        CHECK (outcome IN ('CONFIRMED', 'REJECTED', 'CANCELLED')),
  last_error        text,
  version           integer     NOT NULL DEFAULT 0,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz,
  CHECK ((state IN ('COMPLETED', 'FAILED')) = (finished_at IS NOT NULL))
);
-- The runner's due-work scan.
CREATE INDEX sagas_due_idx ON sagas (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- The step log an operator reads in GET /v1/admin/sagas/{orderId}.
CREATE TABLE saga_steps (
  id        bigserial   PRIMARY KEY,
  order_id  uuid        NOT NULL REFERENCES sagas (order_id) ON DELETE CASCADE,
  step      text        NOT NULL,
  outcome   text        NOT NULL,
  attempt   integer     NOT NULL,
  detail    text,
  at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX saga_steps_order_idx ON saga_steps (order_id, id);

-- Down Migration
DROP TABLE saga_steps;
DROP TABLE sagas;
