-- Up Migration
-- Saga state lives here, not in memory, so any runner can resume any saga at its current step.
CREATE TABLE sagas (
  order_id         uuid        PRIMARY KEY,
  customer_id      text        NOT NULL,
  state            text        NOT NULL CHECK (state IN ('RUNNING', 'COMPENSATING', 'COMPLETED', 'FAILED')),
  step             text        NOT NULL,
  attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at  timestamptz,
  -- Compensations registered so far, newest last; run in reverse.
  compensations    jsonb       NOT NULL DEFAULT '[]',
  data             jsonb       NOT NULL DEFAULT '{}',
  outcome          text,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
-- The runner's due-work scan.
CREATE INDEX sagas_due_idx ON sagas (next_attempt_at) WHERE state IN ('RUNNING', 'COMPENSATING');

CREATE TABLE saga_steps (
  id        bigserial   PRIMARY KEY,
  order_id  uuid        NOT NULL REFERENCES sagas (order_id) ON DELETE CASCADE,
  step      text        NOT NULL,
  outcome   text        NOT NULL,
  attempt   integer     NOT NULL,
  detail    jsonb,
  at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX saga_steps_order_idx ON saga_steps (order_id, id);

-- Down Migration
DROP TABLE saga_steps;
DROP TABLE sagas;
