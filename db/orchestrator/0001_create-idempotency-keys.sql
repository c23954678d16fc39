-- Up Migration
-- Idempotency-Key records (README, Idempotency-Key). The primary key is the claim: the first request inserts, any
-- concurrent or later one conflicts, so there is no check-then-insert window.
CREATE TABLE idempotency_keys (
  caller            text        NOT NULL,
  key               text        NOT NULL,
  fingerprint       text        NOT NULL,
  state             text        NOT NULL CHECK (state IN ('IN_FLIGHT', 'COMPLETED')),
  -- Resource the request creates or acts on (the order id), fixed at claim time so a retry after a
  -- crash finishes the same order.
  resource_id       uuid,
  response_status   integer,
  response_headers  jsonb,
  response_body     bytea,
  locked_until      timestamptz NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz NOT NULL,
  PRIMARY KEY (caller, key),
  CHECK ((state = 'COMPLETED') = (response_status IS NOT NULL))
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- Down Migration
DROP TABLE idempotency_keys;
