-- Up Migration
-- Transactional outbox (libs/messaging): facts and tasks are written in the same transaction as the
-- change they describe; the relay publishes rows in id order and marks them published.
CREATE TABLE outbox (
  id            bigserial   PRIMARY KEY,
  destination   text        NOT NULL CHECK (destination IN ('kafka', 'rabbitmq')),
  topic         text        NOT NULL,
  message_key   text        NOT NULL,
  message_id    uuid        NOT NULL UNIQUE,
  payload       jsonb       NOT NULL,
  headers       jsonb       NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now(),
  published_at  timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (destination, id) WHERE published_at IS NULL;

-- Down Migration
DROP TABLE outbox;
