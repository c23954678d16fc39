-- Up Migration
-- The inbox (0004) was never written: every consumer of the orchestrator is idempotent by a natural key
-- (the saga consumer by order id, the catalog's cache invalidation is a delete, the dead-letter
-- collector by letter id), so there is nothing for it to de-duplicate (docs/architecture.md, section 4).
-- A release still running only logs a failed purge of this table each retention round until it is replaced.
DROP TABLE IF EXISTS inbox;

-- Down Migration
CREATE TABLE inbox (
  consumer      text        NOT NULL,
  message_id    text        NOT NULL,
  processed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);
CREATE INDEX inbox_processed_idx ON inbox (processed_at);
