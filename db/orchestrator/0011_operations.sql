-- Up Migration
-- What the admin API and the console need to find, fix and account for work (docs/architecture.md, Operations).

-- A saga waiting out a retry's backoff or an open circuit: set by the runner's commit that schedules
-- the wait, cleared by the next one, so an operator can list the sagas that are waiting.
ALTER TABLE sagas ADD COLUMN waiting boolean NOT NULL DEFAULT false;
-- Saga search: newest first, optionally by customer.
CREATE INDEX sagas_created_idx ON sagas (created_at DESC, order_id DESC);
CREATE INDEX sagas_customer_idx ON sagas (customer_id, created_at DESC, order_id DESC);
-- A saga's facts and e-mail tasks (every message of an order is keyed by its id).
CREATE INDEX outbox_message_key_idx ON outbox (message_key);

-- A dead letter an operator decided not to replay: kept (and listed) until retention purges it.
ALTER TABLE dead_letters
  ADD COLUMN discarded_at   timestamptz,
  ADD COLUMN discard_reason text,
  ADD CONSTRAINT dead_letters_settled_once CHECK (replayed_at IS NULL OR discarded_at IS NULL);
CREATE INDEX dead_letters_discarded_idx ON dead_letters (discarded_at) WHERE discarded_at IS NOT NULL;

-- Every admin action: who (the token's sub), what, on what, when, and how it ended. A successful
-- action's row commits in the same transaction as the action; a refused or failed one is recorded
-- after the fact.
CREATE TABLE admin_audit (
  id              bigserial   PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT now(),
  actor           text        NOT NULL,
  action          text        NOT NULL,
  target          text,
  outcome         text        NOT NULL CHECK (outcome IN ('succeeded', 'refused', 'failed')),
  status          integer     NOT NULL,
  detail          text,
  request         jsonb,
  idempotency_key text
);

-- Down Migration
DROP TABLE admin_audit;
DROP INDEX dead_letters_discarded_idx;
ALTER TABLE dead_letters DROP CONSTRAINT dead_letters_settled_once, DROP COLUMN discard_reason, DROP COLUMN discarded_at;
DROP INDEX outbox_message_key_idx;
DROP INDEX sagas_customer_idx;
DROP INDEX sagas_created_idx;
ALTER TABLE sagas DROP COLUMN waiting;
